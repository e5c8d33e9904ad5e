package atrium

import _ "embed" // for OpenAPISpec

// OpenAPISpec is openapi.yaml as built into the binary, so that a deployed
// binary can check the contract it serves (`atrium audit security`) without
// the source tree.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
