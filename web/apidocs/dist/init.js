// Renders the contract served by this Atrium (/openapi.json). No request
// leaves this origin: no validator badge, no remote configuration.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#apidocs",
  deepLinking: true,
  validatorUrl: null,
  configUrl: null,
  queryConfigEnabled: false,
  displayOperationId: true,
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
  persistAuthorization: false,
});
