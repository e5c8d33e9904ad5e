// Trusted Types for the API reference (/docs). The page's policy allows
// three policy names: "default" (this one) and the two DOMPurify copies'
// own ("dompurify#atrium", "dompurify#swagger-ui", named by the
// data-tt-policy-suffix of their script tags). Every string the renderer
// assigns to an HTML sink (innerHTML: rendered Markdown) passes through
// DOMPurify here first. There is no createScript or createScriptURL: script
// sinks stay closed, as in the console.
"use strict";
trustedTypes.createPolicy("default", {
  createHTML: (html) => DOMPurify.sanitize(html),
});
