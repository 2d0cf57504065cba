// helm-render: render a Helm chart the way `helm template` does, without helm.
//
// The same engine Helm uses — Go's text/template with the Masterminds sprig function library —
// plus Helm's own additions: include, tpl, required, toYaml/fromYaml/toJson/fromJson(+Array),
// lookup (empty, as in `helm template`), .Values (values.yaml coalesced with -f files and
// --set/--set-string), .Release, .Chart (Chart.yaml), .Capabilities (Kubernetes 1.20), .Template,
// .Files; partials from templates/_*.tpl; NOTES.txt skipped; values checked against
// values.schema.json with xeipuuv/gojsonschema (Helm's validator). Numbers from YAML become
// float64 like in Helm (values go through JSON), --set integers int64 like Helm's strvals.
//
// Usage: helm-render [--name R] [--namespace NS] [-f values.yaml]... [--set k=v]...
//
//	[--set-string k=v]... [--dump-values] [--kube-version 1.20.0] CHART_DIR
//
// Prints the manifests (`---` / `# Source: <chart>/templates/<file>` per document, in Helm's
// install order) on stdout. Exit 1 with `Error: ...` on stderr, as helm prints it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"
)


type options struct {
	name, namespace, kubeVersion string
	valueFiles                   []string
	sets                         []setArg
	dumpValues                   bool
	chartDir                     string
}

type setArg struct {
	expr     string
	isString bool
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: helm-render [--name R] [--namespace NS] [-f values.yaml]... [--set k=v]... [--set-string k=v]... [--dump-values] [--kube-version V] CHART_DIR")
}

func parseArgs(args []string) (options, error) {
	o := options{name: "release-name", namespace: "default", kubeVersion: "1.20.0"}
	next := func(i *int, flag string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("flag %s needs a value", flag)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") && strings.Contains(a, "=") {
			k := strings.IndexByte(a, '=')
			flag, val, hasVal = a[:k], a[k+1:], true
		}
		get := func() (string, error) {
			if hasVal {
				return val, nil
			}
			return next(&i, flag)
		}
		var err error
		var v string
		switch flag {
		case "--name":
			v, err = get()
			o.name = v
		case "--namespace", "-n":
			v, err = get()
			o.namespace = v
		case "--kube-version":
			v, err = get()
			o.kubeVersion = strings.TrimPrefix(v, "v")
		case "-f", "--values":
			v, err = get()
			o.valueFiles = append(o.valueFiles, v)
		case "--set":
			v, err = get()
			o.sets = append(o.sets, setArg{v, false})
		case "--set-string":
			v, err = get()
			o.sets = append(o.sets, setArg{v, true})
		case "--dump-values":
			o.dumpValues = true
		case "-h", "--help":
			usage()
			os.Exit(0)
		default:
			if strings.HasPrefix(a, "-") {
				return o, fmt.Errorf("unknown flag %s", a)
			}
			if o.chartDir != "" {
				return o, fmt.Errorf("one chart directory only (got %s and %s)", o.chartDir, a)
			}
			o.chartDir = a
		}
		if err != nil {
			return o, err
		}
	}
	if o.chartDir == "" {
		return o, errors.New("no chart directory given")
	}
	return o, nil
}

// ---------------------------------------------------------------------------------- chart files

// Metadata mirrors helm.sh/helm/v3/pkg/chart.Metadata (the fields templates read as .Chart.X).
type Metadata struct {
	Name         string                   `json:"name"`
	Home         string                   `json:"home,omitempty"`
	Sources      []string                 `json:"sources,omitempty"`
	Version      string                   `json:"version"`
	Description  string                   `json:"description,omitempty"`
	Keywords     []string                 `json:"keywords,omitempty"`
	Maintainers  []map[string]interface{} `json:"maintainers,omitempty"`
	Icon         string                   `json:"icon,omitempty"`
	APIVersion   string                   `json:"apiVersion"`
	Condition    string                   `json:"condition,omitempty"`
	Tags         string                   `json:"tags,omitempty"`
	AppVersion   string                   `json:"appVersion,omitempty"`
	Deprecated   bool                     `json:"deprecated,omitempty"`
	Annotations  map[string]string        `json:"annotations,omitempty"`
	KubeVersion  string                   `json:"kubeVersion,omitempty"`
	Dependencies []map[string]interface{} `json:"dependencies,omitempty"`
	Type         string                   `json:"type,omitempty"`
}

func loadMetadata(dir string) (*Metadata, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("Chart.yaml file is missing: %v", err)
	}
	var raw interface{}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %v", err)
	}
	j, err := json.Marshal(normalize(raw))
	if err != nil {
		return nil, err
	}
	m := &Metadata{}
	if err := json.Unmarshal(j, m); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %v", err)
	}
	if m.APIVersion == "" {
		return nil, errors.New("validation: chart.metadata.apiVersion is required")
	}
	if m.Name == "" {
		return nil, errors.New("validation: chart.metadata.name is required")
	}
	if m.Version == "" {
		return nil, errors.New("validation: chart.metadata.version is required")
	}
	return m, nil
}

// Files mirrors Helm's .Files: every chart file outside templates/, by chart-relative path.
type Files map[string][]byte

func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Get(name string) string     { return string(f[name]) }
func (f Files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for k, v := range f {
		if ok, _ := path.Match(pattern, k); ok {
			out[k] = v
		}
	}
	return out
}
func (f Files) AsConfig() string {
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}
func (f Files) AsSecrets() string {
	m := map[string][]byte{}
	for k, v := range f {
		m[path.Base(k)] = v
	}
	j, _ := json.Marshal(m) // []byte → base64, as Helm does
	var back interface{}
	_ = json.Unmarshal(j, &back)
	return toYAML(back)
}

type tmplFile struct {
	name string // <chart>/templates/<rel>
	data string
}

func loadChartFiles(dir, chartName string) ([]tmplFile, Files, error) {
	var tmpls []tmplFile
	files := Files{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			if rel != "." && (strings.HasPrefix(info.Name(), ".") || rel == "charts") {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, "templates/") {
			tmpls = append(tmpls, tmplFile{chartName + "/" + rel, string(b)})
		} else {
			files[rel] = b
		}
		return nil
	})
	sort.Slice(tmpls, func(i, j int) bool { return tmpls[i].name < tmpls[j].name })
	return tmpls, files, err
}

// ------------------------------------------------------------------------------------- values

// normalize turns YAML-decoded values into what Helm's values are: JSON types (numbers float64,
// maps map[string]interface{}), as Helm reads values through sigs.k8s.io/yaml (YAML → JSON).
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case map[interface{}]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = normalize(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	default:
		return v
	}
}

func readValuesFile(file string) (map[string]interface{}, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %v", file, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := normalize(raw).(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("failed to parse %s: values must be a mapping", file)
	}
	return m, nil
}

// coalesce merges src over dst like Helm's user-supplied values: maps merge recursively, anything
// else replaces, and a null deletes the key.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// --set parsing: a subset of helm's strvals — `a.b=c,d[0].e=f`, `list={x,y}`, `\,` and `\.`
// escapes; values typed like strvals (int64, bool, null) unless --set-string.
func applySet(vals map[string]interface{}, expr string, isString bool) error {
	for _, pair := range splitUnescaped(expr, ',', true) {
		if pair == "" {
			continue
		}
		eq := indexUnescaped(pair, '=')
		if eq < 0 {
			return fmt.Errorf("failed parsing --set data: key %q has no value", pair)
		}
		key, raw := pair[:eq], pair[eq+1:]
		var val interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			items := []interface{}{}
			inner := raw[1 : len(raw)-1]
			if inner != "" {
				for _, it := range splitUnescaped(inner, ',', false) {
					items = append(items, typedVal(unescape(it), isString))
				}
			}
			val = items
		} else {
			val = typedVal(unescape(raw), isString)
		}
		if err := setPath(vals, key, val); err != nil {
			return fmt.Errorf("failed parsing --set data %q: %v", pair, err)
		}
	}
	return nil
}

// splitUnescaped splits on sep outside {...} (when braces) and not after a backslash.
func splitUnescaped(s string, sep byte, braces bool) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case braces && s[i] == '{':
			depth++
		case braces && s[i] == '}':
			depth--
		case s[i] == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func indexUnescaped(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		} else if s[i] == c {
			return i
		}
	}
	return -1
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func typedVal(v string, isString bool) interface{} {
	if isString {
		return v
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if v == "0" {
		return int64(0)
	}
	if len(v) > 0 && v[0] != '0' {
		if iv, err := strconv.ParseInt(v, 10, 64); err == nil {
			return iv
		}
	}
	return v
}

var indexRe = regexp.MustCompile(`^(.*?)\[(\d+)\]$`)

type seg struct {
	key   string
	index []int
}

func parseKey(key string) ([]seg, error) {
	var out []seg
	for _, part := range splitUnescaped(key, '.', false) {
		s := seg{}
		for {
			m := indexRe.FindStringSubmatch(part)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[2])
			s.index = append([]int{n}, s.index...)
			part = m[1]
		}
		s.key = unescape(part)
		if s.key == "" {
			return nil, errors.New("empty key")
		}
		out = append(out, s)
	}
	return out, nil
}

func setPath(root map[string]interface{}, key string, val interface{}) error {
	segs, err := parseKey(key)
	if err != nil {
		return err
	}
	var set func(cur interface{}, segs []seg, idx []int) (interface{}, error)
	set = func(cur interface{}, segs []seg, idx []int) (interface{}, error) {
		if len(idx) > 0 {
			list, _ := cur.([]interface{})
			n := idx[0]
			for len(list) <= n {
				list = append(list, nil)
			}
			v, err := set(list[n], segs, idx[1:])
			if err != nil {
				return nil, err
			}
			list[n] = v
			return list, nil
		}
		if len(segs) == 0 {
			return val, nil
		}
		m, ok := cur.(map[string]interface{})
		if !ok {
			m = map[string]interface{}{}
		}
		s := segs[0]
		if len(segs) == 1 && len(s.index) == 0 && val == nil {
			delete(m, s.key)
			return m, nil
		}
		v, err := set(m[s.key], segs[1:], s.index)
		if err != nil {
			return nil, err
		}
		m[s.key] = v
		return m, nil
	}
	_, err = set(root, segs, nil)
	return err
}

func validateSchema(dir, chartName string, vals map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewGoLoader(vals))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if res.Valid() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chartName)
	for _, e := range res.Errors() {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}

// ---------------------------------------------------------------------------------- functions

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	_ = enc.Close()
	return strings.TrimSuffix(buf.String(), "\n")
}

func toJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func fromYAML(s string) map[string]interface{} {
	var raw interface{}
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	m, ok := normalize(raw).(map[string]interface{})
	if !ok {
		return map[string]interface{}{}
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	var raw interface{}
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		return []interface{}{err.Error()}
	}
	a, _ := normalize(raw).([]interface{})
	return a
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

const recursionMaxNums = 1000

type engine struct {
	root   *template.Template
	depth  map[string]int
	values map[string]interface{}
}

func (e *engine) funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["fromJsonArray"] = fromJSONArray
	f["toToml"] = func(interface{}) string { return "" }
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil // `helm template` has no cluster either
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		if e.depth[name] > recursionMaxNums {
			return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
		}
		e.depth[name]++
		defer func() { e.depth[name]-- }()
		var buf strings.Builder
		if err := e.root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := e.root.Clone()
		if err != nil {
			return "", err
		}
		t.Option("missingkey=zero")
		if _, err := t.New("tpl").Parse(text); err != nil {
			return "", fmt.Errorf("cannot parse template %q: %v", text, err)
		}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, "tpl", data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %v", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	return f
}

// cleanupError turns Go's template errors into Helm's shape:
// "execution error at (leiosnet/templates/x.yaml:3:4): message".
var (
	execLocRe  = regexp.MustCompile(`^template: (\S+?:\d+:\d+): executing `)
	execCallRe = regexp.MustCompile(`error calling \w+: `)
)

// cleanupError turns Go's template errors into Helm's shape, with the innermost message (a
// required/fail deep inside include calls): "execution error at (<file:line:col>): <message>".
func cleanupError(err error) error {
	msg := err.Error()
	loc := execLocRe.FindStringSubmatch(msg)
	calls := execCallRe.FindAllStringIndex(msg, -1)
	if loc == nil || len(calls) == 0 {
		return err
	}
	return fmt.Errorf("execution error at (%s): %s", loc[1], strings.TrimSpace(msg[calls[len(calls)-1][1]:]))
}

// ------------------------------------------------------------------------------------ capabilities

type KubeVersion struct {
	Version, Major, Minor, GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion map[string]string
}

func capabilities(kv string) Capabilities {
	parts := strings.SplitN(kv, ".", 3)
	major, minor := parts[0], ""
	if len(parts) > 1 {
		minor = parts[1]
	}
	apis := VersionSet{"v1", "apps/v1", "batch/v1", "batch/v1beta1", "rbac.authorization.k8s.io/v1",
		"networking.k8s.io/v1", "policy/v1beta1", "storage.k8s.io/v1", "apiextensions.k8s.io/v1",
		"autoscaling/v1", "autoscaling/v2beta2", "coordination.k8s.io/v1",
		"v1/Namespace", "v1/ConfigMap", "v1/Secret", "v1/Service", "v1/Pod", "v1/ServiceAccount",
		"apps/v1/StatefulSet", "apps/v1/Deployment", "batch/v1/Job", "rbac.authorization.k8s.io/v1/Role",
		"rbac.authorization.k8s.io/v1/RoleBinding"}
	return Capabilities{
		KubeVersion: KubeVersion{Version: "v" + kv, Major: major, Minor: minor, GitVersion: "v" + kv},
		APIVersions: apis,
		HelmVersion: map[string]string{"Version": "v3.13.0-helm-render"},
	}
}

// -------------------------------------------------------------------------------------- render

// Helm's install order (pkg/releaseutil/kind_sorter.go), unknown kinds last.
var installOrder = []string{"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
	"ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService"}

type manifest struct {
	source, content, kind, name string
	order                       int
}

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func render(o options) (string, error) {
	meta, err := loadMetadata(o.chartDir)
	if err != nil {
		return "", err
	}
	vals := map[string]interface{}{}
	if _, err := os.Stat(filepath.Join(o.chartDir, "values.yaml")); err == nil {
		if vals, err = readValuesFile(filepath.Join(o.chartDir, "values.yaml")); err != nil {
			return "", err
		}
	}
	for _, f := range o.valueFiles {
		u, err := readValuesFile(f)
		if err != nil {
			return "", err
		}
		vals = coalesce(vals, u)
	}
	for _, s := range o.sets {
		if err := applySet(vals, s.expr, s.isString); err != nil {
			return "", err
		}
	}
	if err := validateSchema(o.chartDir, meta.Name, vals); err != nil {
		return "", err
	}
	if o.dumpValues {
		b, err := json.MarshalIndent(vals, "", "  ")
		return string(b) + "\n", err
	}

	tmpls, files, err := loadChartFiles(o.chartDir, meta.Name)
	if err != nil {
		return "", err
	}
	e := &engine{depth: map[string]int{}, values: vals}
	e.root = template.New("gotpl").Option("missingkey=zero")
	e.root.Funcs(e.funcMap())
	for _, t := range tmpls {
		if _, err := e.root.New(t.name).Parse(t.data); err != nil {
			return "", fmt.Errorf("parse error at (%s): %v", t.name, strings.TrimPrefix(err.Error(), "template: "))
		}
	}
	release := map[string]interface{}{
		"Name": o.name, "Namespace": o.namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}
	var out []manifest
	for _, t := range tmpls {
		base := path.Base(t.name)
		if strings.HasPrefix(base, "_") || strings.EqualFold(base, "NOTES.txt") {
			continue
		}
		data := map[string]interface{}{
			"Values":       vals,
			"Release":      release,
			"Chart":        meta,
			"Capabilities": capabilities(o.kubeVersion),
			"Files":        files,
			"Template":     map[string]interface{}{"Name": t.name, "BasePath": meta.Name + "/templates"},
		}
		var buf strings.Builder
		if err := e.root.ExecuteTemplate(&buf, t.name, data); err != nil {
			return "", cleanupError(err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, doc := range docSep.Split(text, -1) {
			if strings.TrimSpace(doc) == "" || isOnlyComments(doc) {
				continue
			}
			var head struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Metadata   struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %v", t.name, err)
			}
			if head.Kind == "" || head.APIVersion == "" {
				return "", fmt.Errorf("%s: a document without apiVersion/kind:\n%s", t.name, doc)
			}
			out = append(out, manifest{source: t.name, content: strings.Trim(doc, "\n"), kind: head.Kind, name: head.Metadata.Name, order: len(out)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return kindRank(out[i].kind) < kindRank(out[j].kind) })
	var b strings.Builder
	for _, m := range out {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	return b.String(), nil
}

func isOnlyComments(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		usage()
		os.Exit(2)
	}
	s, err := render(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(s)
}
