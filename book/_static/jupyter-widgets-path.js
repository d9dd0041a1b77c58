/*
 * Where the Jupyter widget manager finds its own files.
 *
 * embed-amd.js (from @jupyter-widgets/html-manager) is an AMD bundle: require.js names its
 * module "@jupyter-widgets/html-manager/dist/libembed-amd" and, with no configuration,
 * resolves that name against the page's folder. The bundle derives its webpack public path
 * from that address and loads its icon fonts from there, e.g.
 * lessons/@jupyter-widgets/html-manager/dist/1551f4f60c37af51121f.woff2, which does not
 * exist: the files are staged in _static/jupyter-widgets/ (tools/build_book.py). Mapping the
 * name to that folder, relative to the site root that Sphinx writes into
 * <html data-content_root>, makes the fonts load. Loaded on pages with widgets only, between
 * require.js and embed-amd.js (nb_ipywidgets_js in _config.yml), because embed-amd.js asks
 * require.js for its module as soon as it runs.
 */
(function () {
  "use strict";
  if (typeof window.require === "undefined" || !window.require.config) {
    return; // a page without widgets loads no require.js
  }
  var root = document.documentElement.dataset.content_root || "./";
  window.require.config({
    paths: { "@jupyter-widgets/html-manager/dist": root + "_static/jupyter-widgets" },
  });
})();
