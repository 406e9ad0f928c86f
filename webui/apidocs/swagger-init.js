// Starts Swagger UI on the API documentation page. A file of its own, not an inline script:
// the servers' Content-Security-Policy allows scripts from their own origin only.
const me = document.currentScript;
window.SwaggerUIBundle({
  url: me.dataset.specUrl,
  dom_id: "#swagger-container",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
