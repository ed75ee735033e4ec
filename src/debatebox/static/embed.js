/* debatebox widget: placeholder until the widget is written. */
(function () {
  "use strict";
  var CSS = "__DEBATEBOX_CSS__";
  void CSS;
})();
