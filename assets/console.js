// Keeps the queue fresh without reloading the page: the server says when the queue
// changed (server-sent events) and the table is fetched again. Every 15 s as well, for
// requests whose waiting time has come. Nothing else on the console needs JavaScript.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue) return;
  var pending = false;
  function refresh() {
    // Do not pull the table from under a keyboard user's focus; try again on blur.
    if (queue.contains(document.activeElement)) { pending = true; return; }
    pending = false;
    fetch(queue.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) queue.innerHTML = html; })
      .catch(function () {});
  }
  queue.addEventListener("focusout", function () { if (pending) setTimeout(refresh, 0); });
  if (window.EventSource) {
    var events = new EventSource("/console/events");
    events.onmessage = refresh;
  }
  setInterval(refresh, 15000);
})();
