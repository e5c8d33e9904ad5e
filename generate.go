// Package atrium holds the code generators. `go generate ./...` runs ent, then
// ogen (both pinned as tools in go.mod), then internal/ogenpool, which makes
// ogen's response encoders use pooled JSON encoders.
package atrium

//go:generate go tool ent generate --feature privacy,entql,schema/snapshot,sql/upsert,sql/versioned-migration,sql/lock,sql/execquery ./ent/schema
//go:generate go tool ogen --target gen/api --package api --clean --config ogen.yml openapi.yaml
//go:generate go run ./internal/ogenpool gen/api/oas_response_encoders_gen.go
