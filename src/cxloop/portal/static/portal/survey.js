/* The survey page, enhanced: questions whose condition does not hold are hidden (and their answers left out),
   and the answers so far are kept on the server as the customer goes (portal:survey_partial), so leaving and
   coming back loses nothing. Without this script every question shows and the server ignores hidden answers. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-survey]");
  if (!form) return;
  var status = form.querySelector("[data-autosave]");
  var questions = Array.prototype.slice.call(form.querySelectorAll("[data-question]"));
  var timer = null;
  var lastSent = "";

  function valuesOf(box) {
    var values = [];
    box.querySelectorAll("input, textarea").forEach(function (input) {
      if (input.disabled) return;
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      if (input.value.trim() !== "") values.push(input.value);
    });
    return values;
  }

  // Mirrors cxloop.feedback.definitions.Condition.holds.
  function holds(condition, answers) {
    var given = answers[condition.question];
    if (!given || given.length === 0) return false;
    if (condition.answered) return true;
    if (condition["in"] && condition["in"].length) {
      return given.some(function (value) { return condition["in"].indexOf(value) !== -1; });
    }
    if (!/^-?\d+$/.test(given[0])) return false;
    var number = parseInt(given[0], 10);
    if (condition.at_most !== null && condition.at_most !== undefined && number > condition.at_most) return false;
    return !(condition.at_least !== null && condition.at_least !== undefined && number < condition.at_least);
  }

  function applyConditions() {
    var answers = {};
    questions.forEach(function (box) {
      var raw = box.getAttribute("data-show-if");
      var shown = !raw || holds(JSON.parse(raw), answers);
      box.hidden = !shown;
      box.querySelectorAll("input, textarea").forEach(function (input) { input.disabled = !shown; });
      if (shown) answers[box.getAttribute("data-question")] = valuesOf(box);
    });
  }

  function save() {
    var body = new FormData(form);
    var signature = new URLSearchParams(body).toString();
    if (signature === lastSent) return;
    lastSent = signature;
    fetch(form.getAttribute("data-partial-url"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok && status) status.textContent = status.getAttribute("data-saved") || "Your answers so far are saved.";
      })
      .catch(function () { lastSent = ""; });
  }

  function soon(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, delay);
  }

  form.addEventListener("change", function () { applyConditions(); soon(300); });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") soon(1200);
  });
  form.addEventListener("submit", function () { if (timer) clearTimeout(timer); });
  applyConditions();
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
