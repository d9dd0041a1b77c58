/*
 * Math in widget labels with MathJax 3.
 *
 * ipywidgets 8 typesets LaTeX in widget descriptions (and HTMLMath values) with the
 * MathJax 2 call `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`. The book loads
 * MathJax 3, which has no `Hub`: without this file every widget throws and `$x$` in its
 * label stays raw. Here `Hub.Queue` is given to MathJax 3: the element's `$...$` and
 * `$$...$$` (Jupyter's delimiters; MathJax 3 as configured by Sphinx only knows `\(...\)`
 * and `\[...\]`) are rewritten and the element is typeset, at once or as soon as MathJax is
 * ready. Loaded on every page (html_js_files) after Sphinx's inline MathJax configuration
 * and before MathJax itself, which is deferred.
 */
(function () {
  "use strict";
  var pending = [];

  function jupyterDelimiters(element) {
    var walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    var nodes = [];
    while (walker.nextNode()) {
      nodes.push(walker.currentNode);
    }
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      if (text.indexOf("$") === -1) {
        return;
      }
      node.nodeValue = text
        .replace(/(^|[^\\])\$\$([^$]+?)\$\$/g, "$1\\[$2\\]")
        .replace(/(^|[^\\$])\$([^$\n]+?)\$/g, "$1\\($2\\)");
    });
  }

  function typeset(elements) {
    if (!elements.length) {
      return;
    }
    elements.forEach(jupyterDelimiters);
    window.MathJax.typesetPromise(elements).catch(function (error) {
      console.warn("[ipywidgets-mathjax3] typesetting a widget label failed:", error);
    });
  }

  function queue(job) {
    var element = job && job[2];
    if (!element || !element.nodeType) {
      return;
    }
    if (window.MathJax && window.MathJax.typesetPromise) {
      typeset([element]);
    } else {
      pending.push(element);
    }
  }

  var config = (window.MathJax = window.MathJax || {});
  config.Hub = { Queue: queue }; // until MathJax 3 replaces window.MathJax with itself
  var startup = (config.startup = config.startup || {});
  var previousReady = startup.ready;
  startup.ready = function () {
    if (previousReady) {
      previousReady();
    } else {
      window.MathJax.startup.defaultReady();
    }
    window.MathJax.Hub = { Queue: queue };
    typeset(pending.splice(0));
  };
})();
