// Built offline in GOPATH mode by .ci/helm-setup.sh (Debian's Go packages). This file marks the
// code as "new" so the /v3 import resolves there too (Go's minimal module compatibility); with a
// module proxy, `go mod tidy && go build .` works as well.
module leiosnet.io/tools/helm-render

go 1.19

require (
	github.com/Masterminds/sprig/v3 v3.2.3
	github.com/xeipuuv/gojsonschema v1.2.0
	gopkg.in/yaml.v3 v3.0.1
)
