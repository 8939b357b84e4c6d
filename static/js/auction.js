// The bid panel: a countdown to the end of bidding (the UTC ISO time in data-countdown) and
// conditional polling (htmx): the panel's ETag goes back as If-None-Match, a 304 swaps nothing.
(function () {
  "use strict";
  var etags = {};

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var nodes = document.querySelectorAll("[data-countdown]");
    var now = Date.now();
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var end = Date.parse(node.getAttribute("data-countdown"));
      if (isNaN(end)) { continue; }
      var left = Math.max(0, Math.floor((end - now) / 1000));
      if (left === 0) { node.textContent = node.getAttribute("data-ended"); continue; }
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      node.textContent = (d ? d + " д " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    }
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    var path = evt.detail.path;
    if (etags[path]) { evt.detail.headers["If-None-Match"] = etags[path]; }
  });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    var tag = xhr.getResponseHeader("ETag");
    if (tag) { etags[evt.detail.requestConfig.path] = tag; }
    if (xhr.status === 304 || xhr.status === 404) { evt.detail.shouldSwap = false; }
  });
  // hx-preserve keeps what the user typed in the bid fields, and with them their old
  // placeholders: the amount gets the new minimum that the fresh form carries.
  function placeholders() {
    var forms = document.querySelectorAll("form[data-amount-placeholder]");
    for (var i = 0; i < forms.length; i++) {
      var amount = forms[i].querySelector("#bid-amount");
      if (amount) { amount.placeholder = forms[i].getAttribute("data-amount-placeholder"); }
    }
  }
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("htmx:afterSettle", placeholders);

  tick();
  setInterval(tick, 1000);
})();
