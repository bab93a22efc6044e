/*! Storefront widget.js: renders each <div data-storefront-book="slug"> into a shadow root
 * (host CSS cannot reach the card, card CSS cannot reach the host) and sizes Storefront
 * iframe cards to their content. No cookies, no storage, no third-party code. */
(function () {
  "use strict";
  if (window.__storefrontWidget) return; // the script was included twice: one copy is enough
  window.__storefrontWidget = true;

  var script = document.currentScript;
  if (!script || !script.src || !window.fetch || !document.documentElement.attachShadow) return;
  var root = script.src.replace(/[?#].*$/, "").replace(/[^\/]*$/, ""); // ".../" beside widget.js
  var origin = new URL(root).origin;
  var OPTIONS = ["layout", "theme", "quote", "formats", "cta"];
  var pending = {}; // fragment URL -> Promise of its HTML: one request per distinct card

{% if static_files %}
  function fragmentUrl(el) {
    // A static export: one file per layout and theme (other options are not exported),
    // named as storefront.export.naming.query_name() names them.
    var parts = [];
    ["layout", "theme"].forEach(function (name) {
      var value = el.getAttribute("data-" + name);
      if (value !== null) parts.push(name + "-" + encodeURIComponent(value));
    });
    return root + "embed/" + encodeURIComponent(el.getAttribute("data-storefront-book")) +
      "/fragment/" + (parts.join("_") || "index") + ".html";
  }
{% else %}
  function fragmentUrl(el) {
    var query = [];
    OPTIONS.forEach(function (name) {
      var value = el.getAttribute("data-" + name);
      if (value !== null) query.push(name + "=" + encodeURIComponent(value));
    });
    return root + "embed/" + encodeURIComponent(el.getAttribute("data-storefront-book")) +
      "/fragment" + (query.length ? "?" + query.join("&") : "");
  }
{% endif %}

  // The shelf card: <div data-storefront-shelf data-author="slug"> (or data-series="slug").
  function shelfUrl(el) {
    var author = el.getAttribute("data-author"), series = el.getAttribute("data-series");
{% if static_files %}
    var name = author !== null ? "author-" + encodeURIComponent(author)
      : series !== null ? "series-" + encodeURIComponent(series) : "index";
    return root + "embed/shelf/fragment/" + name + ".html";
{% else %}
    var query = author !== null ? "?author=" + encodeURIComponent(author)
      : series !== null ? "?series=" + encodeURIComponent(series) : "";
    return root + "embed/shelf/fragment" + query;
{% endif %}
  }

  function load(url) {
    if (!pending[url]) {
      pending[url] = fetch(url, { credentials: "omit", mode: "cors" }).then(function (response) {
        if (!response.ok) throw new Error("Storefront card " + url + ": HTTP " + response.status);
        return response.text();
      });
      pending[url].catch(function () { delete pending[url]; }); // a later card may retry
    }
    return pending[url];
  }

  function render(el) {
    if (el.shadowRoot || el.getAttribute("data-storefront-state")) return;
    el.setAttribute("data-storefront-state", "loading");
    var url = el.hasAttribute("data-storefront-shelf") ? shelfUrl(el) : fragmentUrl(el);
    load(url).then(function (html) {
      var shadow = el.attachShadow({ mode: "open" });
      // The server escapes every catalog string; this script never assembles markup.
      // (Scripts inserted through innerHTML never run.)
      shadow.innerHTML = html;
      el.setAttribute("data-storefront-state", "ready");
    }).catch(function (error) {
      // The host's own fallback content (if any) stays in place.
      el.setAttribute("data-storefront-state", "error");
      if (window.console) console.warn(error.message || error);
    });
  }

  function isOurFrame(frame) {
    try { return new URL(frame.src, location.href).origin === origin; } catch (e) { return false; }
  }

  // oEmbed html is a fallback link to the book page, then the frame: once the card shows,
  // the link is hidden (as WordPress's wp-embed.js does with its own).
  function hideFallback(frame) {
    var quote = frame.previousElementSibling;
    var link = quote && quote.tagName === "BLOCKQUOTE" && quote.querySelector("a[href]");
    if (link && quote.children.length === 1 && new URL(link.href, location.href).origin === origin) {
      quote.hidden = true;
    }
  }

  function scan(node) {
    if (node.nodeType !== 1) return;
    if (node.hasAttribute("data-storefront-book") || node.hasAttribute("data-storefront-shelf")) {
      render(node);
    }
    var cards = node.querySelectorAll("[data-storefront-book],[data-storefront-shelf]");
    for (var i = 0; i < cards.length; i++) render(cards[i]);
    var frames = node.tagName === "IFRAME" ? [node] : node.querySelectorAll("iframe");
    for (var j = 0; j < frames.length; j++) {
      // A frame that loaded before this script posted its height to nobody: ask again.
      if (isOurFrame(frames[j]) && frames[j].contentWindow) {
        frames[j].contentWindow.postMessage({ type: "storefront:measure" }, origin);
      }
    }
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || data.type !== "storefront:height") return;
    var height = Math.round(Number(data.height));
    if (!(height > 0 && height < 20000)) return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = height + "px";
        frames[i].setAttribute("height", String(height));
        hideFallback(frames[i]);
      }
    }
  });

  scan(document.documentElement);
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      for (var i = 0; i < record.addedNodes.length; i++) scan(record.addedNodes[i]);
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
