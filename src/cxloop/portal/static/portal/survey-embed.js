/* The survey page inside the web widget's frame tells the panel around it (portal/survey-widget.js) what it needs:
   its height (so the frame fits it), that the customer answered, and that Escape was pressed in here (the panel
   closes on Escape, and keys pressed in a frame never reach the page around it). The messages hold no answers and
   no token, so they may go to whichever page framed this one; the panel checks that they come from its frame. */
(function () {
  "use strict";
  if (window.parent === window) return;
  function tell(event, extra) {
    var message = { source: "cxloop-survey", event: event };
    for (var key in extra || {}) message[key] = extra[key];
    window.parent.postMessage(message, "*");
  }
  function height() {
    tell("height", { height: Math.ceil(document.documentElement.scrollHeight) });
  }
  // On release, not press: the panel removes this frame at once, and a key still held down in a frame that is
  // gone leaves its release with nowhere to go.
  document.addEventListener("keyup", function (event) {
    if (event.key === "Escape") tell("escape");
  });
  if (window.ResizeObserver) new ResizeObserver(height).observe(document.body);
  window.addEventListener("load", height);
  height();
  if (document.body.hasAttribute("data-answered")) tell("answered");
})();
