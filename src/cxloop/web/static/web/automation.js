// The automation rule editor: "Add to the actions" appends an example action to the actions JSON, "Use as the
// conditions" fills the conditions; both keep what was typed when it is valid JSON and say so when it is not.
// Without JavaScript the examples stay readable and can be copied by hand.
(function () {
  "use strict";

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  function say(status, text) {
    if (status) {
      status.textContent = text;
    }
  }

  function addAction(button) {
    var field = document.getElementById("id_actions");
    var status = document.getElementById("example-status");
    if (!field) {
      return;
    }
    var example = JSON.parse(button.getAttribute("data-example"));
    var current = [];
    if (field.value.trim()) {
      try {
        current = JSON.parse(field.value);
      } catch (error) {
        say(status, "The actions are not valid JSON yet: fix them first, nothing was changed.");
        return;
      }
      if (!Array.isArray(current)) {
        say(status, "The actions must be a list: fix them first, nothing was changed.");
        return;
      }
    }
    current.push(example);
    field.value = pretty(current);
    say(status, "Added: " + button.getAttribute("data-label") + ". Change its values, then press Check.");
    field.focus();
  }

  function useConditions(button) {
    var field = document.getElementById("id_conditions");
    var status = document.getElementById("example-status");
    if (!field) {
      return;
    }
    if (field.value.trim() && !window.confirm("Replace the conditions you wrote with the example?")) {
      return;
    }
    field.value = pretty(JSON.parse(button.getAttribute("data-example")));
    say(status, "Conditions replaced by the example. Change its values, then press Check.");
    field.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-add-action]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { addAction(button); });
    });
    document.querySelectorAll("[data-use-conditions]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { useConditions(button); });
    });
  });
})();
