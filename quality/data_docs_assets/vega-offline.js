/*
 * Omnilake: Data Docs are read offline, and Vega (which draws Great Expectations' charts) is not
 * vendored. The few expectations that render a chart show this note instead; every number is still
 * in the page's tables.
 */
window.vegaEmbed = function (target) {
  var element = typeof target === "string" ? document.querySelector(target) : target;
  if (element) {
    element.textContent = "(chart not drawn: Data Docs are built to be read offline)";
  }
  return Promise.resolve({});
};
