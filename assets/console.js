// Keeps the queue fresh without reloading the page: the server says when the queue
// changed (server-sent events) and the table is fetched again. Every 15 s as well, for
// requests whose waiting time has come. And the phone of a trial call plays the line's
// prompts one after the other and collects keys as a phone does. Everything works
// without it.
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

// The phone of a trial call (/console/lines/{line}/try): the prompts played in turn; a
// key stops them, as on a phone; the keypad's keys are collected until the line has as
// many as it waits for, or its ending key, then sent.
(function () {
  "use strict";
  var prompts = Array.prototype.slice.call(document.querySelectorAll("audio.prompt"));
  function stop() { prompts.forEach(function (a) { a.pause(); }); }
  prompts.forEach(function (audio, i) {
    var next = prompts[i + 1];
    if (next) audio.addEventListener("ended", function () { next.play().catch(function () {}); });
  });
  if (prompts.length) prompts[0].play().catch(function () {});
  var phone = document.querySelector("form.phone[data-digits]");
  if (!phone) return;
  var keys = phone.querySelector("input[name=keys]");
  var send = phone.querySelector("button[name=press][value=keys]");
  var wanted = parseInt(phone.dataset.digits, 10) || 0;
  var finish = phone.dataset.finish;
  function complete() {
    return (wanted && keys.value.length >= wanted) || (finish && keys.value.slice(-1) === finish);
  }
  phone.querySelectorAll(".keypad button").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      stop();
      keys.value += button.value;
      if (complete()) phone.requestSubmit(send);
    });
  });
  keys.addEventListener("input", function () {
    stop();
    if (complete()) phone.requestSubmit(send);
  });
})();
