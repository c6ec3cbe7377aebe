// The YASGUI page: one endpoint (this service), an optional bearer token, no remote services.
// A file of its own, not inline: the service's Content-Security-Policy allows scripts from 'self' only.
(function () {
  var el = document.getElementById("yasgui");
  if (typeof Yasgui === "undefined") { document.getElementById("missing").hidden = false; return; }
  var config = JSON.parse(el.dataset.config);
  var token = document.getElementById("token");
  var yasgui = new Yasgui(el, {
    requestConfig: {
      endpoint: config.endpoint,
      method: "POST",
      headers: function () {
        return token.value.trim() ? { Authorization: "Bearer " + token.value.trim() } : {};
      }
    },
    copyEndpointOnNewTab: true,
    // No catalogue of remote endpoints and no remote autocompletion services (prefix.cc, LOV):
    // the page talks to this endpoint only.
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: config.endpoint }]; } },
    yasqe: { autocompleters: ["variables"] },
    persistenceId: null
  });
  var tab = yasgui.getTab();
  tab.setEndpoint(config.endpoint);
  window.pilotkgYasgui = yasgui;
})();
