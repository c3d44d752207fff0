/* The notice's print button (CSP: no inline handlers). */
(function () {
  "use strict";
  var button = document.querySelector("[data-action='print']");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
