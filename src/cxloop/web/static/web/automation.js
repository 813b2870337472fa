// The automation rule editor.
//
// Without JavaScript the conditions and actions are JSON textareas, and the examples in the side panel can be copied
// by hand. With it, each becomes a form-based builder: the conditions as rows (field, operator, value) under an
// "all of / any of" switch, the actions as rows per kind with the fields that kind takes. The builder only ever
// writes JSON into the (hidden, still submitted) textareas, so the server checks, the "Check" preview and the
// error paths ("actions[1].url") are those of the JSON. "Edit as JSON" shows a textarea again; JSON the builder
// cannot show (not, nested any/all, has_event, a value it cannot type) opens as JSON with a note instead of being
// lost. A refused save comes back with the posted JSON, which the builder reads again.
(function () {
  "use strict";

  var OPERATORS = [
    ["eq", "equals"],
    ["ne", "does not equal"],
    ["lt", "is less than"],
    ["lte", "is at most"],
    ["gt", "is more than"],
    ["gte", "is at least"],
    ["in", "is one of"],
    ["contains", "contains"],
    ["exists", "exists"]
  ];
  var KINDS = [
    ["tag", "Tag the customer"],
    ["assign", "Assign the conversation or case"],
    ["notify", "Notify staff"],
    ["open_case", "Open a case"],
    ["webhook", "Call a webhook"]
  ];
  // Each kind's fields, in the order of the server's cleaned action (automation/definitions.py).
  var ACTION_FIELDS = {
    tag: [
      {key: "add", label: "Add tags", list: true, help: "separate tags with commas"},
      {key: "remove", label: "Remove tags", list: true, help: "separate tags with commas"}
    ],
    assign: [
      {key: "target", label: "What", choices: "targets"},
      {key: "user", label: "To user (username)", suggest: "users"},
      {key: "team", label: "And/or team", suggest: "teams"}
    ],
    notify: [
      {key: "users", label: "Users (usernames)", list: true, help: "separate usernames with commas"},
      {key: "team", label: "And/or everyone in team", suggest: "teams"},
      {key: "title", label: "Title"},
      {key: "body", label: "Text", multiline: true}
    ],
    open_case: [
      {key: "subject", label: "Subject"},
      {key: "description", label: "Description", multiline: true},
      {key: "priority", label: "Priority", choices: "priorities", initial: "normal"},
      {key: "goal", label: "Goal (key)", suggest: "goals"},
      {key: "category", label: "Category (key)", suggest: "categories"},
      {key: "owner", label: "Owner (username)", suggest: "users"},
      {key: "team", label: "Team", suggest: "teams"}
    ],
    webhook: [
      {key: "url", label: "URL", type: "url", help: "http:// or https://; the run is POSTed as signed JSON"}
    ]
  };
  var TARGET_LABELS = {conversation: "the conversation", "case": "the case"};
  var MODE_KEY = "cxloop.rule-editor.";
  var config = {profile: [], attributes: [], priorities: ["low", "normal", "high", "urgent"], targets: ["conversation", "case"],
    suggest: {}};
  var counter = 0;

  // ------------------------------------------------------------------------- small helpers

  function make(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name === "hidden") {
        node.hidden = true;
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(child);
      }
    });
    return node;
  }

  function uid(prefix) {
    counter += 1;
    return "rb-" + prefix + "-" + counter;
  }

  function options(select, pairs, selected) {
    pairs.forEach(function (pair) {
      var option = make("option", {value: pair[0], text: pair[1]});
      option.selected = pair[0] === selected;
      select.appendChild(option);
    });
    return select;
  }

  // A labelled control: <div class="rb-field"><label for=id>…</label>control<small>help</small></div>.
  function labelled(labelText, control, help) {
    var id = control.id || uid("c");
    control.id = id;
    var parts = [make("label", {"for": id, text: labelText}), control];
    if (help) {
      var helpId = id + "-help";
      control.setAttribute("aria-describedby", helpId);
      parts.push(make("small", {"class": "help", id: helpId, text: help}));
    }
    return make("div", {"class": "rb-field"}, parts);
  }

  function say(text) {
    var status = document.getElementById("builder-status");
    if (status) {
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 30);
    }
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function onlyKeys(object, allowed) {
    return Object.keys(object).every(function (key) { return allowed.indexOf(key) >= 0; });
  }

  // A value as typed: numbers, true, false and null are JSON; "quoted" text is the text inside; the rest is text.
  function parseScalar(text) {
    var trimmed = text.trim();
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(trimmed) || trimmed === "true" || trimmed === "false" ||
        trimmed === "null" || trimmed.charAt(0) === "\"") {
      try {
        return JSON.parse(trimmed);
      } catch (error) {
        return trimmed;
      }
    }
    return trimmed;
  }

  // The text that parseScalar reads back as `value` (text that would read as a number is shown in quotes).
  function showScalar(value) {
    if (typeof value === "string" && parseScalar(value) === value) {
      return value;
    }
    return JSON.stringify(value);
  }

  function isScalar(value) {
    return value === null || ["string", "number", "boolean"].indexOf(typeof value) >= 0;
  }

  function splitList(text) {
    return text.split(",").map(function (part) { return part.trim(); }).filter(function (part) { return part !== ""; });
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  // ------------------------------------------------------------------------- conditions

  function fieldChoices() {
    var groups = [
      ["Event", [["event.type", "event.type (the trigger's type)"], ["event.at", "event.at (when it happened)"],
                 ["event.properties.", "event.properties.… (a property of the event)"]]],
      ["Customer", config.profile.map(function (name) { return ["profile." + name, "profile." + name]; })],
      ["Attributes", config.attributes.map(function (a) {
        return ["attributes." + a.key, "attributes." + a.key + (a.label && a.label !== a.key ? " (" + a.label + ")" : "")];
      }).concat([["attributes.", "attributes.… (another key)"]])],
      ["Tags", [["tags", "tags (the customer's tags)"]]]
    ];
    return groups;
  }

  function knownField(field) {
    var found = false;
    fieldChoices().forEach(function (group) {
      group[1].forEach(function (pair) {
        if (pair[0] === field) {
          found = true;
        }
      });
    });
    return found;
  }

  // {choice, key} for a field name, or null when the builder cannot show it.
  function splitField(field) {
    if (typeof field !== "string") {
      return null;
    }
    if (knownField(field) && field.slice(-1) !== ".") {
      return {choice: field, key: ""};
    }
    if (field.indexOf("event.properties.") === 0 && field.length > 17) {
      return {choice: "event.properties.", key: field.slice(17)};
    }
    if (field.indexOf("attributes.") === 0 && field.length > 11) {
      return {choice: "attributes.", key: field.slice(11)};
    }
    if (/^profile\.[a-z_]+$/.test(field)) {
      return {choice: field, key: "", extra: true};
    }
    return null;
  }

  // A comparison the builder can show as a row, as the row's values; null when it cannot.
  function comparisonRow(item) {
    if (!isPlainObject(item) || !onlyKeys(item, ["field", "operator", "value"])) {
      return null;
    }
    var field = splitField(item.field);
    var operator = item.operator;
    if (field === null || OPERATORS.map(function (o) { return o[0]; }).indexOf(operator) < 0) {
      return null;
    }
    var value = item.value;
    var text = "";
    if (operator === "exists") {
      if (value !== undefined && typeof value !== "boolean") {
        return null;
      }
      text = value === false ? "false" : "true";
    } else if (operator === "in") {
      if (!Array.isArray(value) || !value.every(isScalar)) {
        return null;
      }
      var shown = value.map(showScalar);
      if (shown.some(function (part) { return part.indexOf(",") >= 0 || part.trim() === ""; })) {
        return null;
      }
      text = shown.join(", ");
    } else {
      if (value === undefined || !isScalar(value)) {
        return null;
      }
      text = showScalar(value);
    }
    return {choice: field.choice, key: field.key, extra: field.extra, operator: operator, value: text};
  }

  // What the conditions JSON reads as in the builder: {mode, rows, bare}, or null when it cannot be shown.
  function conditionsModel(data) {
    if (data === null) {
      return {mode: "all", rows: [], bare: false};
    }
    if (!isPlainObject(data)) {
      return null;
    }
    var single = comparisonRow(data);
    if (single) {
      return {mode: "all", rows: [single], bare: true};
    }
    var mode = Object.keys(data).length === 1 && (Array.isArray(data.all) ? "all" : Array.isArray(data.any) ? "any" : null);
    if (!mode) {
      return null;
    }
    var rows = data[mode].map(comparisonRow);
    if (rows.some(function (row) { return row === null; })) {
      return null;
    }
    return {mode: mode, rows: rows, bare: false};
  }

  function conditionRow(part, values) {
    var n = part.rows.length + 1;
    var legend = make("legend", {text: "Condition " + n});
    var fieldSelect = make("select", {"data-key": "field"});
    fieldChoices().forEach(function (group) {
      if (group[1].length) {
        fieldSelect.appendChild(options(make("optgroup", {label: group[0]}), group[1], values.choice));
      }
    });
    if (values.extra) {
      fieldSelect.appendChild(options(make("optgroup", {label: "Other"}), [[values.choice, values.choice]], values.choice));
    }
    fieldSelect.value = values.choice || "event.properties.";
    var keyInput = make("input", {type: "text", "data-key": "key", autocomplete: "off", spellcheck: "false"});
    keyInput.value = values.key || "";
    var keyField = labelled("Key", keyInput, "e.g. total, or address.city");
    var operatorSelect = options(make("select", {"data-key": "operator"}), OPERATORS, values.operator || "eq");
    var valueInput = make("input", {type: "text", "data-key": "value", autocomplete: "off", spellcheck: "false"});
    var existsSelect = options(make("select", {"data-key": "exists"}),
      [["true", "is present"], ["false", "is absent"]], values.operator === "exists" ? values.value : "true");
    var valueField = labelled("Value", valueInput, "");
    var existsField = labelled("Present or absent", existsSelect);
    var remove = make("button", {type: "button", "class": "button button-small", "data-remove": "1", text: "Remove"});
    var row = make("fieldset", {"class": "rb-row"}, [
      legend,
      make("div", {"class": "rb-fields"}, [
        labelled("Field", fieldSelect), keyField, labelled("Operator", operatorSelect), valueField, existsField
      ]),
      make("div", {"class": "rb-row-actions"}, [remove])
    ]);
    var help = valueField.querySelector("small");

    function refresh() {
      var needsKey = fieldSelect.value.slice(-1) === ".";
      keyField.hidden = !needsKey;
      var exists = operatorSelect.value === "exists";
      valueField.hidden = exists;
      existsField.hidden = !exists;
      if (help) {
        help.textContent = operatorSelect.value === "in" ?
          "separate values with commas; numbers and true/false as such, \"quoted\" to keep text" :
          "a number, true/false, or text (put text that looks like a number in \"quotes\")";
      }
    }
    valueInput.value = values.operator === "exists" ? "" : (values.value || "");
    valueInput.setAttribute("aria-describedby", valueInput.id + "-help");
    if (!help) {
      help = make("small", {"class": "help", id: valueInput.id + "-help"});
      valueField.appendChild(help);
    }
    fieldSelect.addEventListener("change", refresh);
    operatorSelect.addEventListener("change", refresh);
    remove.addEventListener("click", function () { removeRow(part, row, "Condition"); });
    refresh();
    row.read = function () {
      var field = fieldSelect.value.slice(-1) === "." ? fieldSelect.value + keyInput.value.trim() : fieldSelect.value;
      var operator = operatorSelect.value;
      var item = {field: field, operator: operator};
      if (operator === "exists") {
        item.value = existsSelect.value === "true";
      } else if (operator === "in") {
        item.value = splitList(valueInput.value).map(parseScalar);
      } else {
        item.value = parseScalar(valueInput.value);
      }
      return item;
    };
    return row;
  }

  function conditionsValue(part) {
    var items = part.rows.map(function (row) { return row.read(); });
    if (!items.length) {
      return null;
    }
    if (part.bare && items.length === 1 && part.mode() === "all") {
      return items[0];
    }
    var value = {};
    value[part.mode()] = items;
    return value;
  }

  // ------------------------------------------------------------------------- actions

  function actionValues(action) {
    if (!isPlainObject(action) || typeof action.type !== "string" || !ACTION_FIELDS[action.type]) {
      return null;
    }
    var fields = ACTION_FIELDS[action.type];
    if (!onlyKeys(action, ["type"].concat(fields.map(function (f) { return f.key; })))) {
      return null;
    }
    var values = {type: action.type};
    var fine = fields.every(function (f) {
      var value = action[f.key];
      if (value === undefined || value === null) {
        values[f.key] = f.list ? "" : (f.initial || (f.choices ? config[f.choices][0] : ""));
        return true;
      }
      if (f.list) {
        if (!Array.isArray(value) || !value.every(function (v) { return typeof v === "string" && v.indexOf(",") < 0; })) {
          return false;
        }
        values[f.key] = value.join(", ");
        return true;
      }
      if (typeof value !== "string") {
        return false;
      }
      if (f.choices && config[f.choices].indexOf(value) < 0) {
        return false;
      }
      values[f.key] = value;
      return true;
    });
    return fine ? values : null;
  }

  function actionsModel(data) {
    if (!Array.isArray(data)) {
      return null;
    }
    var rows = data.map(actionValues);
    return rows.some(function (row) { return row === null; }) ? null : {rows: rows};
  }

  function kindFields(container, kind, values) {
    container.textContent = "";
    var controls = {};
    ACTION_FIELDS[kind].forEach(function (f) {
      var control;
      if (f.choices) {
        var labels = config[f.choices].map(function (c) { return [c, f.choices === "targets" ? TARGET_LABELS[c] || c : c]; });
        control = options(make("select", {"data-key": f.key}), labels, values[f.key] || f.initial || config[f.choices][0]);
      } else if (f.multiline) {
        control = make("textarea", {rows: "2", "data-key": f.key});
        control.value = values[f.key] || "";
      } else {
        control = make("input", {type: "text", inputmode: f.type || null, "data-key": f.key, autocomplete: "off",
          spellcheck: f.type === "url" ? "false" : null, list: f.suggest ? suggestions(f.suggest) : null});
        control.value = values[f.key] || "";
      }
      controls[f.key] = control;
      container.appendChild(labelled(f.label, control, f.help));
    });
    return controls;
  }

  // One <datalist> per kind of name (users, teams, goals, categories), shared by every row that takes one: the
  // browser offers the names as one types, and any text may still be typed (the server checks it on save).
  function suggestions(kind) {
    var items = config.suggest[kind] || [];
    if (!items.length) {
      return null;
    }
    var id = "rule-suggest-" + kind;
    if (!document.getElementById(id)) {
      var list = make("datalist", {id: id});
      items.forEach(function (item) {
        var option = make("option", {value: item.value});
        if (item.label && item.label !== item.value) {
          option.label = item.label;
        }
        list.appendChild(option);
      });
      document.body.appendChild(list);
    }
    return id;
  }

  function actionRow(part, values) {
    var legend = make("legend", {text: "Action"});
    var kindSelect = options(make("select", {"data-key": "type"}), KINDS, values.type || "tag");
    var fieldsBox = make("div", {"class": "rb-fields"});
    var up = make("button", {type: "button", "class": "button button-small", text: "Move up"});
    var down = make("button", {type: "button", "class": "button button-small", text: "Move down"});
    var remove = make("button", {type: "button", "class": "button button-small", "data-remove": "1", text: "Remove"});
    var row = make("fieldset", {"class": "rb-row"}, [
      legend,
      make("div", {"class": "rb-fields"}, [labelled("Kind of action", kindSelect)]),
      fieldsBox,
      make("div", {"class": "rb-row-actions"}, [up, down, remove])
    ]);
    var controls = kindFields(fieldsBox, kindSelect.value, values);
    kindSelect.addEventListener("change", function () {
      // What was typed in a field the new kind also has (team, user) is kept.
      var typed = {};
      Object.keys(controls).forEach(function (key) { typed[key] = controls[key].value; });
      controls = kindFields(fieldsBox, kindSelect.value, typed);
      sync(part);
    });
    up.addEventListener("click", function () { moveRow(part, row, -1); });
    down.addEventListener("click", function () { moveRow(part, row, 1); });
    remove.addEventListener("click", function () { removeRow(part, row, "Action"); });
    row.read = function () {
      var kind = kindSelect.value;
      var action = {type: kind};
      ACTION_FIELDS[kind].forEach(function (f) {
        var raw = controls[f.key].value;
        action[f.key] = f.list ? splitList(raw) : raw.trim();
      });
      return action;
    };
    row.focusFirst = function () { kindSelect.focus(); };
    return row;
  }

  // ------------------------------------------------------------------------- rows

  function renumber(part) {
    part.rows.forEach(function (row, index) {
      var legend = row.querySelector("legend");
      var noun = part.name === "conditions" ? "Condition" : "Action";
      legend.textContent = noun + " " + (index + 1);
      row.querySelectorAll("[data-remove]").forEach(function (button) {
        button.setAttribute("aria-label", "Remove " + noun.toLowerCase() + " " + (index + 1));
      });
      var buttons = row.querySelectorAll(".rb-row-actions button");
      if (part.name === "actions") {
        buttons[0].setAttribute("aria-label", "Move action " + (index + 1) + " up");
        buttons[1].setAttribute("aria-label", "Move action " + (index + 1) + " down");
        buttons[0].disabled = index === 0;
        buttons[1].disabled = index === part.rows.length - 1;
      }
    });
    part.empty.hidden = part.rows.length > 0;
  }

  function focusRow(row) {
    var first = row.querySelector("select, input, textarea");
    if (first) {
      first.focus();
    }
  }

  function addRow(part, values, quiet) {
    var row = part.name === "conditions" ? conditionRow(part, values) : actionRow(part, values);
    part.rows.push(row);
    part.list.appendChild(row);
    part.bare = false;
    renumber(part);
    if (!quiet) {
      sync(part);
      focusRow(row);
      say((part.name === "conditions" ? "Condition " : "Action ") + part.rows.length + " added.");
    }
    return row;
  }

  function removeRow(part, row, noun) {
    var index = part.rows.indexOf(row);
    part.rows.splice(index, 1);
    row.remove();
    part.bare = false;
    renumber(part);
    sync(part);
    var next = part.rows[Math.min(index, part.rows.length - 1)];
    if (next) {
      focusRow(next);
    } else {
      part.addButton.focus();
    }
    say(noun + " " + (index + 1) + " removed.");
  }

  function moveRow(part, row, offset) {
    var index = part.rows.indexOf(row);
    var target = index + offset;
    if (target < 0 || target >= part.rows.length) {
      return;
    }
    part.rows.splice(index, 1);
    part.rows.splice(target, 0, row);
    part.rows.forEach(function (r) { part.list.appendChild(r); });
    renumber(part);
    sync(part);
    var button = row.querySelectorAll(".rb-row-actions button")[offset < 0 ? 0 : 1];
    (button.disabled ? focusRow : function () { button.focus(); })(row);
    say("Action moved to place " + (target + 1) + ".");
  }

  // ------------------------------------------------------------------------- one part (conditions or actions)

  function sync(part) {
    if (part.inBuilder) {
      var value = part.name === "conditions" ? conditionsValue(part) : part.rows.map(function (row) { return row.read(); });
      part.textarea.value = value === null ? "" : pretty(value);
    }
  }

  function readText(part) {
    var text = part.textarea.value;
    if (!text.trim()) {
      return {ok: true, model: part.name === "conditions" ? conditionsModel(null) : {rows: []}};
    }
    var data;
    try {
      data = JSON.parse(text);
    } catch (error) {
      return {ok: false, why: "This is not valid JSON yet, so it stays as JSON: fix it here (Check says where)."};
    }
    var model = part.name === "conditions" ? conditionsModel(data) : actionsModel(data);
    if (model === null) {
      return {ok: false, why: part.name === "conditions" ?
        "These conditions use something the builder cannot show (not, nested all/any, has_event, or a value " +
        "it cannot type), so they are shown as JSON. They are kept as they are." :
        "These actions hold something the builder cannot show, so they are shown as JSON. They are kept as they are."};
    }
    return {ok: true, model: model};
  }

  function showBuilder(part, model) {
    part.rows.forEach(function (row) { row.remove(); });
    part.rows = [];
    if (part.name === "conditions") {
      part.setMode(model.mode);
    }
    model.rows.forEach(function (values) { addRow(part, values, true); });
    part.bare = !!model.bare;
    part.inBuilder = true;
    part.builder.hidden = false;
    part.wrapper.hidden = true;
    part.note.hidden = true;
    part.toggle.textContent = "Edit as JSON";
    renumber(part);
    markErrors(part);
  }

  function showJson(part, why) {
    part.inBuilder = false;
    part.builder.hidden = true;
    part.wrapper.hidden = false;
    part.note.textContent = why || "";
    part.note.hidden = !why;
    part.toggle.textContent = "Use the builder";
  }

  function remember(part, mode) {
    try {
      window.sessionStorage.setItem(MODE_KEY + window.location.pathname + "." + part.name, mode);
    } catch (error) {
      // no storage (private mode): the builder is simply the default
    }
  }

  function remembered(part) {
    try {
      return window.sessionStorage.getItem(MODE_KEY + window.location.pathname + "." + part.name);
    } catch (error) {
      return null;
    }
  }

  function load(part, preferJson) {
    var read = readText(part);
    if (!read.ok) {
      showJson(part, read.why);
      return false;
    }
    if (preferJson) {
      showJson(part, "");
      return true;
    }
    showBuilder(part, read.model);
    return true;
  }

  // The server's problems for this part ("actions[1].url: …") on the rows they name, and above the rows.
  function markErrors(part) {
    var list = part.wrapper.querySelector(".errorlist");
    part.errors.textContent = "";
    part.errors.hidden = true;
    if (!list) {
      return;
    }
    var copy = list.cloneNode(true);
    copy.removeAttribute("id");
    part.errors.appendChild(copy);
    part.errors.hidden = false;
    var pattern = part.name === "conditions" ?
      /^conditions(?:\.(?:all|any))?(?:\[(\d+)\])?(?:\.(\w+))?:\s*(.*)$/ : /^actions\[(\d+)\](?:\.(\w+))?(?:\[\d+\])?:\s*(.*)$/;
    list.querySelectorAll("li").forEach(function (item) {
      var match = pattern.exec(item.textContent.trim());
      if (!match) {
        return;
      }
      var row = part.rows[match[1] === undefined ? 0 : Number(match[1])];
      if (!row) {
        return;
      }
      var key = match[2];
      var control = key ? row.querySelector("[data-key='" + key + "']") : null;
      if (!control || control.closest("[hidden]")) {
        control = row.querySelector("select, input, textarea");
      }
      var message = make("p", {"class": "rb-error", id: uid("err"), text: match[3]});
      control.closest(".rb-field").appendChild(message);
      control.setAttribute("aria-invalid", "true");
      var described = control.getAttribute("aria-describedby");
      control.setAttribute("aria-describedby", (described ? described + " " : "") + message.id);
    });
  }

  function setUp(container, form) {
    var name = container.getAttribute("data-builder");
    var textarea = document.getElementById(container.getAttribute("data-field"));
    if (!textarea) {
      return null;
    }
    var wrapper = textarea.closest(".field");
    var titleId = uid("title");
    var part = {
      name: name, textarea: textarea, wrapper: wrapper, rows: [], bare: false, inBuilder: false,
      builder: make("div", {"class": "rb-builder"}),
      list: make("div", {"class": "rb-list"}),
      errors: make("div", {"class": "rb-errors", hidden: true}),
      empty: make("p", {"class": "muted small", text: name === "conditions" ?
        "No conditions: the rule runs on every event of its trigger." : "No actions yet: add at least one."}),
      note: make("p", {"class": "alert alert-info small rb-note", role: "status", hidden: true}),
      toggle: make("button", {type: "button", "class": "button button-small", text: "Edit as JSON"})
    };
    part.toggle.setAttribute("aria-describedby", titleId);  // two toggles on the page: which part each is for
    var heading = make("div", {"class": "rb-head"}, [
      make("h3", {id: titleId, "class": "rb-title", text: name === "conditions" ? "And (conditions)" : "Then (actions)"}),
      part.toggle
    ]);
    part.addButton = make("button", {type: "button", "class": "button button-small",
      text: name === "conditions" ? "Add a condition" : "Add an action"});
    if (name === "conditions") {
      var group = uid("match");
      var radios = [["all", "all of these conditions hold"], ["any", "any of these conditions holds"]].map(function (pair) {
        var input = make("input", {type: "radio", name: group, value: pair[0], id: uid("m")});
        input.addEventListener("change", function () { part.bare = false; sync(part); });
        return {input: input, label: make("label", {"for": input.id, text: pair[1]})};
      });
      radios[0].input.checked = true;
      part.builder.appendChild(make("fieldset", {"class": "rb-match"}, [make("legend", {text: "The rule matches when"})]
        .concat(radios.map(function (r) { return make("span", {"class": "field-check"}, [r.input, r.label]); }))));
      part.mode = function () { return radios[1].input.checked ? "any" : "all"; };
      part.setMode = function (mode) { radios[0].input.checked = mode !== "any"; radios[1].input.checked = mode === "any"; };
    }
    part.builder.insertBefore(part.errors, part.builder.firstChild);
    part.builder.appendChild(part.list);
    part.builder.appendChild(part.empty);
    part.builder.appendChild(make("div", {"class": "actions"}, [part.addButton]));
    container.appendChild(heading);
    container.appendChild(part.note);
    container.appendChild(part.builder);
    container.setAttribute("role", "group");
    container.setAttribute("aria-labelledby", titleId);
    container.hidden = false;

    part.addButton.addEventListener("click", function () {
      addRow(part, name === "conditions" ? {choice: "event.properties.", operator: "eq"} : {type: "tag"});
    });
    part.builder.addEventListener("input", function () { sync(part); });
    part.builder.addEventListener("change", function () { sync(part); });
    part.toggle.addEventListener("click", function () {
      if (part.inBuilder) {
        showJson(part, "");
        remember(part, "json");
        textarea.focus();
        say("The " + name + " are shown as JSON.");
      } else if (load(part, false)) {
        remember(part, "builder");
        focusRow(part.rows[0] || part.builder);
        if (!part.rows.length) {
          part.addButton.focus();
        }
        say("The " + name + " are shown in the builder.");
      } else {
        say(part.note.textContent);
      }
    });
    form.addEventListener("submit", function () { sync(part); });
    load(part, remembered(part) === "json");
    part.reload = function () { load(part, !part.inBuilder); };
    return part;
  }

  // ------------------------------------------------------------------------- the side panel's examples

  function exampleStatus(text) {
    var status = document.getElementById("example-status");
    if (status) {
      status.textContent = text;
    }
  }

  function addAction(button, part) {
    var field = document.getElementById("id_actions");
    if (!field) {
      return;
    }
    var example = JSON.parse(button.getAttribute("data-example"));
    var current = [];
    if (field.value.trim()) {
      try {
        current = JSON.parse(field.value);
      } catch (error) {
        exampleStatus("The actions are not valid JSON yet: fix them first, nothing was changed.");
        return;
      }
      if (!Array.isArray(current)) {
        exampleStatus("The actions must be a list: fix them first, nothing was changed.");
        return;
      }
    }
    current.push(example);
    field.value = pretty(current);
    exampleStatus("Added: " + button.getAttribute("data-label") + ". Change its values, then press Check.");
    if (part) {
      part.reload();
    }
    if (part && part.inBuilder) {
      focusRow(part.rows[part.rows.length - 1]);
    } else {
      field.focus();
    }
  }

  function useConditions(button, part) {
    var field = document.getElementById("id_conditions");
    if (!field) {
      return;
    }
    if (field.value.trim() && !window.confirm("Replace the conditions you wrote with the example?")) {
      return;
    }
    field.value = pretty(JSON.parse(button.getAttribute("data-example")));
    exampleStatus("Conditions replaced by the example. Change its values, then press Check.");
    if (part) {
      part.reload();
    }
    if (!part || !part.inBuilder) {
      field.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var configNode = document.getElementById("rule-builder-config");
    if (configNode) {
      try {
        var given = JSON.parse(configNode.textContent);
        Object.keys(given).forEach(function (key) { config[key] = given[key]; });
      } catch (error) {
        // keep the defaults
      }
    }
    var form = document.getElementById("rule-form");
    var parts = {};
    if (form) {
      form.querySelectorAll("[data-builder]").forEach(function (container) {
        var part = setUp(container, form);
        if (part) {
          parts[part.name] = part;
        }
      });
    }
    document.querySelectorAll("[data-add-action]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { addAction(button, parts.actions); });
    });
    document.querySelectorAll("[data-use-conditions]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { useConditions(button, parts.conditions); });
    });
  });
})();
