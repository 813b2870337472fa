/*
 * cxloop survey widget. A website embeds one tag on pages where its customer is logged in:
 *   <script src="https://<cxloop>/p/widget/survey.js" data-survey="<survey key>"
 *           data-customer="<the customer's email>" data-kind="email"
 *           data-signature="<hex HMAC-SHA256 of 'email:<email>' with CXLOOP_SURVEY_WIDGET_SECRET>" async></script>
 * or data-kind="external" data-customer="<your id for them>" (optionally data-network="<your system>", "website"
 * by default) signed as 'external:<network>:<id>'.
 * Without data-customer, a visitor who chatted in cxloop's web chat on this site is asked as that chat's
 * customer (the chat's token, kept by the chat widget in this site's storage, is the proof).
 *
 * When cxloop has something to ask (not too soon after the last survey, not answered yet), a panel appears at the
 * bottom corner: a labelled region (not a modal dialog: it was not asked for, so it takes no focus and traps
 * nothing) with the survey's title as its heading, a close button and the survey page in a frame. Escape closes
 * it (also from inside the frame), and focus goes back to where it was before it entered the panel. A closed
 * panel stays closed for that invitation. Plain JavaScript in a shadow root: the page's CSS cannot reach it.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-survey][src*='widget/survey.js']");
  if (!script || !script.src) return;
  var SURVEY = script.getAttribute("data-survey") || "";
  var flag = "__cxloopSurvey:" + SURVEY;
  if (!SURVEY || window[flag]) return;
  window[flag] = true;

  var ORIGIN = new URL(script.src, location.href).origin;
  var API = script.src.replace(/survey\.js(?:[?#].*)?$/, "") + "invitations";
  var CLOSED = "cxloop-survey-closed:" + ORIGIN + ":" + SURVEY;

  function read(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }
  function write(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      /* storage off: the panel comes back on the next page, which is all that is lost */
    }
  }

  function identity() {
    var customer = script.getAttribute("data-customer");
    if (customer) {
      return {
        customer: customer,
        kind: script.getAttribute("data-kind") || "email",
        network: script.getAttribute("data-network") || "",
        signature: script.getAttribute("data-signature") || "",
      };
    }
    var chat = null;
    try {
      chat = JSON.parse(read("cxloop-chat:" + ORIGIN + "/chat/api/") || "null");
    } catch (e) {
      chat = null;
    }
    return chat && chat.id && chat.token ? { customer: chat.id, kind: "chat", signature: chat.token } : null;
  }

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".panel{position:fixed;right:20px;bottom:20px;z-index:2147482000;width:380px;max-width:calc(100vw - 24px);",
    "max-height:calc(100vh - 40px);display:flex;flex-direction:column;background:#fff;color:#0f172a;",
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;border-radius:12px;",
    "box-shadow:0 10px 40px rgba(15,23,42,.35);overflow:hidden}",
    "header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:8px 8px 8px 16px;",
    "background:#1d4ed8;color:#fff}",
    "h2{margin:0;font-size:17px;font-weight:600;line-height:1.3}",
    ".close{flex:none;border:0;background:transparent;color:#fff;font:inherit;font-size:26px;line-height:1;",
    "width:44px;height:44px;cursor:pointer;border-radius:8px}",
    ".close:hover{background:#1e40af}",
    ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    "iframe{display:block;width:100%;height:420px;min-height:0;flex:1 1 auto;border:0;background:#fff}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.panel{right:0;bottom:0;left:0;width:100%;max-width:none;max-height:80vh;",
    "border-radius:12px 12px 0 0}}",
  ].join("");

  function show(shown) {
    var host = document.createElement("div");
    host.id = "cxloop-survey";
    var root = host.attachShadow({ mode: "open" });
    root.innerHTML =
      "<style>" +
      CSS +
      "</style>" +
      '<aside class="panel" aria-labelledby="cxs-title">' +
      '<header><h2 id="cxs-title"></h2>' +
      '<button class="close" type="button" aria-label="Close the survey">&times;</button></header>' +
      '<iframe></iframe><p class="sr" role="status"></p></aside>';
    var panel = root.querySelector(".panel");
    var frame = root.querySelector("iframe");
    var announce = root.querySelector("[role=status]");
    var returnTo = null;
    root.getElementById("cxs-title").textContent = shown.title;
    frame.title = shown.title;
    frame.src = shown.url;

    // Where focus was before it entered the panel, to give it back on closing.
    host.addEventListener("focusin", function (event) {
      if (event.relatedTarget && !host.contains(event.relatedTarget)) returnTo = event.relatedTarget;
    });

    function close() {
      var focusInside = document.activeElement === host;
      write(CLOSED, shown.invitation);
      window.removeEventListener("message", onMessage);
      host.remove();
      if (focusInside && returnTo && document.contains(returnTo)) returnTo.focus();
    }
    function onMessage(event) {
      var data = event.data;
      if (event.origin !== ORIGIN || event.source !== frame.contentWindow) return;
      if (!data || data.source !== "cxloop-survey") return;
      if (data.event === "escape") close();
      if (data.event === "height" && data.height > 0) {
        var room = window.innerHeight * (window.innerWidth <= 480 ? 0.8 : 1) - 40 - root.querySelector("header").offsetHeight;
        frame.style.height = Math.max(160, Math.min(data.height, room)) + "px";
      }
      if (data.event === "answered") {
        write(CLOSED, shown.invitation);
        announce.textContent = "Thank you, your answers are saved.";
      }
    }
    window.addEventListener("message", onMessage);
    root.querySelector(".close").addEventListener("click", close);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    document.body.appendChild(host);
    // Said once it appears, for those who cannot see the corner of the screen.
    setTimeout(function () {
      announce.textContent = "A short survey opened at the end of the page: " + shown.title;
    }, 100);
  }

  function start() {
    var who = identity();
    if (!who) return;
    var body = {
      survey: SURVEY,
      customer: who.customer,
      kind: who.kind,
      signature: who.signature,
      network: who.network || "",
      page_url: location.href.split("#")[0],
    };
    fetch(API, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        if (response.status === 200) return response.json();
        if (response.status !== 204 && window.console) {
          response.json().then(function (problem) {
            console.warn("cxloop survey widget:", response.status, problem.error && problem.error.message);
          });
        }
        return null;
      })
      .then(function (shown) {
        if (shown && shown.url && read(CLOSED) !== shown.invitation) show(shown);
      })
      .catch(function () {
        /* cxloop unreachable: the page simply shows no survey */
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
