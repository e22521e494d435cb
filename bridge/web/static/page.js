// The status page's script (its own file: the page's Content-Security-Policy allows no inline
// script). It keeps #live current by asking /page/live for what changed, sends the buttons'
// forms with the session's CSRF token in a header, and copies order ids. Without it the page
// still shows everything and its buttons still work, as plain forms.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var token = document.querySelector('meta[name="csrf-token"]');
  var message = document.getElementById("message");
  var FAST = 1000, SLOW = 5000, timer = null;

  function say(text) {
    if (message) { message.textContent = text || ""; message.hidden = !text; }
  }

  function active() {
    return live.querySelector('[data-finished="no"]') || live.querySelector("#banner .banner");
  }

  // Swap in the top-level parts whose version changed; keep the others (and their images) as they are.
  function swap(html) {
    var next = document.createElement("div");
    next.innerHTML = html;
    var parts = Array.prototype.slice.call(next.children), wanted = {};
    parts.forEach(function (part, n) {
      wanted[part.id] = true;
      var old = document.getElementById(part.id), keep = part;
      if (old && old.parentNode === live) {
        if (old.getAttribute("data-v") === part.getAttribute("data-v")) { keep = old; }
        else { live.replaceChild(part, old); }
      }
      if (live.children[n] !== keep) { live.insertBefore(keep, live.children[n] || null); }
    });
    Array.prototype.slice.call(live.children).forEach(function (el) {
      if (!wanted[el.id]) { live.removeChild(el); }
    });
  }

  function poll() {
    clearTimeout(timer);
    var src = live.getAttribute("data-src");
    var url = src + (src.indexOf("?") < 0 ? "?" : "&") + "v=" + encodeURIComponent(live.getAttribute("data-v"));
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      if (resp.status === 401 || resp.status === 403) { window.location.reload(); return; }
      say("");
      if (resp.status !== 200) { return; }
      var version = resp.headers.get("X-Live-Version");
      return resp.text().then(function (html) { swap(html); live.setAttribute("data-v", version); });
    }).catch(function () {
      say("The bridge is not answering; this page tries again by itself.");
    }).then(function () {
      timer = setTimeout(poll, document.hidden || !active() ? SLOW : FAST);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("act") || !token) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": token.content }, body: new FormData(form)
    }).then(function (resp) {
      if (!resp.ok) {
        return resp.json().then(function (body) { say(body.error || "That did not work."); },
                                function () { say("That did not work (HTTP " + resp.status + ")."); });
      }
    }).catch(function () {
      say("The bridge is not answering.");
    }).then(function () {
      if (button) { button.disabled = false; }
      if (live) { poll(); }
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    function done(label) {
      button.textContent = label;
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { done("Select it"); });
    } else {
      done("Select it");
    }
  });

  if (live) { timer = setTimeout(poll, FAST); }
})();
