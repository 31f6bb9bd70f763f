// The widget embedder (@jupyter-widgets/html-manager 1.0, embed.js) typesets widget labels with the
// MathJax 2 call `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`. The book loads MathJax 3,
// which has no `Hub`, so that call throws "Cannot read properties of undefined (reading 'Queue')"
// (ipywidgets issue 3829). This file maps the one call onto the MathJax 3 API.
//
// Timing: Sphinx loads MathJax 3 with `defer`, so it has replaced its configuration object by
// DOMContentLoaded; the embedder renders later, on window `load`. Installing at DOMContentLoaded makes
// the shim independent of where its <script> tag lands among the page's scripts. On pages without math
// there is no MathJax at all and the embedder skips typesetting by itself.
(function () {
  "use strict";

  function install() {
    var mj = window.MathJax;
    // Only a loaded MathJax 3 has a `version`; before it loads, window.MathJax is a plain config object.
    if (!mj || mj.Hub || String(mj.version || "").charAt(0) !== "3") {
      return;
    }
    mj.Hub = {
      Queue: function () {
        var elements = [];
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
            elements.push(job[2]);
          }
        }
        if (elements.length === 0) {
          return;
        }
        // MathJax 3 starts asynchronously: wait for it, then typeset only the widget's elements.
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        ready
          .then(function () {
            return mj.typesetPromise(elements);
          })
          .catch(function (err) {
            console.error("MathJax could not typeset a widget label:", err);
          });
      },
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", install);
  } else {
    install();
  }
})();
