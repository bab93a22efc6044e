// The desk's only script: a live progress bar while print pieces build.
// Without it the page still works: the form posts and the page shows the state.
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
