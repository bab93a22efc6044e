/* The iframe card's only script (allowed by its hash in the card's CSP).
 * Height: posts {type:"storefront:height"} to the parent (widget.js and other hosts) and,
 * inside WordPress (a "#?secret=" in the URL), WordPress's own {message:"height"}.
 * Links: inside WordPress, a link to this host is sent as {message:"link"}, so wp-embed.js
 * opens it in the blog's tab (the sandbox forbids popups). In any other sandbox where a
 * new tab cannot open, the card shows the link's address instead of a dead button. */
(function () {
  "use strict";
  var found = /[#&?]secret=([A-Za-z0-9]+)/.exec(location.hash);
  var secret = found && found[1];
  var opaque = String(self.origin) === "null"; // sandboxed without allow-same-origin
  var last = 0;

  function send() {
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (!h || h === last) return;
    last = h;
    parent.postMessage({ type: "storefront:height", height: h }, "*");
    if (secret) parent.postMessage({ message: "height", value: h, secret: secret }, "*");
  }

  addEventListener("message", function (e) {
    var d = e.data;
    if (e.source !== parent || !d) return;
    if (d.type === "storefront:measure" || (secret && d.message === "ready" && d.secret === secret)) {
      last = 0;
      send();
    }
  });

  function showAddress(link) {
    var note = link.sfNote;
    if (!note) {
      note = link.sfNote = document.createElement("p");
      note.className = "sf-blocked";
      note.setAttribute("role", "status");
      note.appendChild(document.createTextNode("This page cannot open a new tab. Copy this address, or follow it here: "));
      var copy = document.createElement("a");
      copy.className = "sf-way-link";
      copy.href = link.href;
      copy.textContent = link.href;
      note.appendChild(copy);
      var item = link.closest("li");
      if (item) item.appendChild(note);
      else (link.closest("h2, p") || link).insertAdjacentElement("afterend", note);
    }
    note.querySelector("a").focus();
  }

  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[href]");
    if (!link || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    var url = new URL(link.href, location.href);
    if (secret && url.host === location.host) {
      e.preventDefault();
      parent.postMessage({ message: "link", value: url.href, secret: secret }, "*");
      // wp-embed.js navigates the blog's tab and this frame goes away; if nothing did
      // (no wp-embed.js on the page), the reader still gets the address.
      var timer = setTimeout(function () { showAddress(link); }, 1500);
      addEventListener("pagehide", function () { clearTimeout(timer); });
    } else if (opaque && link.target === "_blank") {
      e.preventDefault();
      // null: the sandbox forbids popups. (With "noopener" it would be null always; the
      // opener the store's tab gets is this sandboxed frame, not the blog.)
      if (!window.open(url.href, "_blank")) showAddress(link);
    }
  });

  // The reader list's form (the `signup` layout), sent with fetch(): WordPress's sandbox
  // (allow-scripts only) forbids form submission, and the submit event never fires there,
  // so the button's click (Enter in the field clicks it too) is where it is caught.
  var form = document.querySelector("form[data-storefront-signup]");
  if (form && window.fetch && window.URLSearchParams) {
    var fresh = false;
    var refresh = function () { // a fresh fill-time token: the page may be cached for hours
      if (fresh) return;
      fresh = true;
      fetch(new URL("/readers/token", form.action).href, { credentials: "omit", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d && d.token) form.elements.t.value = d.token; })
        .catch(function () {});
    };
    form.addEventListener("focusin", refresh);
    form.addEventListener("pointerdown", refresh);
    var answer = form.querySelector("[data-answer]");
    var busy = false;
    var submit = function (e) {
      e.preventDefault();
      if (busy || !form.reportValidity()) return;
      busy = true;
      answer.textContent = "Sending\u2026";
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "omit",
        mode: "cors"
      })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          answer.textContent = d.message;
          if (d.ok) form.elements.email.value = "";
        })
        .catch(function () { answer.textContent = "Sorry, the sign-up could not be sent. Please try again later."; })
        .then(function () { busy = false; send(); });
    };
    form.addEventListener("click", function (e) {
      if (e.target.closest && e.target.closest("button[type=submit]")) submit(e);
    });
    form.addEventListener("submit", submit);
  }

  if (window.ResizeObserver) new ResizeObserver(send).observe(document.body);
  addEventListener("load", send);
  send();
})();
