// The desk's script: previews sized to the whole page they show, and a live progress
// bar while print pieces build. Without it the desk still works: a preview frame is
// 85% of the window tall (and opens on its own), the form posts and shows the state.
(function () {
  "use strict";
  // A preview frame (same origin) grows to its page's full height, and follows it.
  function fit(frame) {
    var doc;
    try { doc = frame.contentDocument; } catch (e) { return; }
    if (!doc || !doc.documentElement) return;
    var resize = function () {
      var borders = frame.offsetHeight - frame.clientHeight;  // border-box sizing
      frame.style.height = Math.ceil(doc.documentElement.scrollHeight) + borders + "px";
    };
    resize();
    if (window.ResizeObserver) { new ResizeObserver(resize).observe(doc.documentElement); }
  }
  var frames = document.querySelectorAll("iframe[data-fit=page]");
  for (var i = 0; i < frames.length; i++) {
    var frame = frames[i];
    frame.addEventListener("load", fit.bind(null, frame));
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") { fit(frame); }
  }
})();

(function () {
  "use strict";
  var box = document.getElementById("build");
  var form = document.getElementById("build-form");
  if (!box || !form) return;
  var bar = document.getElementById("build-progress");
  var state = document.getElementById("build-state");
  var url = box.getAttribute("data-status-url");

  function show(s) {
    bar.max = s.total || 1;
    bar.value = s.done || 0;
    bar.textContent = (s.done || 0) + " of " + (s.total || 0);
    box.setAttribute("data-state", s.state);
    if (s.state === "running") {
      state.textContent = "Building: " + s.done + " of " + s.total + " pieces…";
    } else if (s.state === "done") {
      state.textContent = "Done: " + (s.built || []).length + " built, " +
        (s.skipped || []).length + " unchanged in " + s.seconds + " s.";
    } else if (s.state === "failed") {
      state.textContent = "Failed: " + (s.failed || []).join("; ");
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        show(s);
        if (s.state === "running") { setTimeout(poll, 400); }
        else { window.location.reload(); }
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (r) { return r.json(); }).then(function (s) {
      show(s);
      if (s.state === "running") { setTimeout(poll, 200); } else { window.location.reload(); }
    });
  });

  if (box.getAttribute("data-state") === "running") { poll(); }
})();

// An announcement's send: its progress, polled while it is being sent.
(function () {
  "use strict";
  var box = document.getElementById("send");
  if (!box || box.getAttribute("data-state") !== "sending") return;
  var bar = document.getElementById("send-progress");
  var state = document.getElementById("send-state");
  var url = box.getAttribute("data-status-url");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.max = s.total || 1;
        bar.value = s.done;
        bar.textContent = s.done + " of " + s.total;
        state.textContent = s.sent + " sent, " + s.pending + " waiting, " + s.failed +
          " failed, " + s.suppressed + " refused for good, " + s.skipped +
          " unsubscribed since (of " + s.total + ").";
        if (s.status === "sending") { setTimeout(poll, 1000); } else { window.location.reload(); }
      });
  }
  setTimeout(poll, 1000);
})();
