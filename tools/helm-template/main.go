// Command helm-template renders a Helm chart like `helm template` without a helm binary.
// Usage: helm-template template RELEASE CHART [flags]; see usage() for the flags.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type options struct {
	release      string
	chartPath    string
	namespace    string
	valueFiles   []string
	sets         []string
	setStrings   []string
	setFiles     []string
	setJSON      []string
	setLiterals  []string
	kubeVersion  string
	apiVersions  []string
	showOnly     []string
	includeCRDs  bool
	isUpgrade    bool
	skipSchema   bool
	printValues  bool
	dumpRendered bool
}

func usage() string {
	return `Usage: helm-template template [RELEASE] CHART [flags]

Flags (as helm template):
  -f, --values FILE          values file (repeatable, merged in order)
      --set k=v[,k=v]        set values (Helm strvals syntax)
      --set-string k=v       set STRING values
      --set-file k=path      set values from file contents
      --set-json k=json      set JSON values
      --set-literal k=v      set a literal STRING value (no escaping or splitting)
  -n, --namespace NS         release namespace (default "default")
      --kube-version V       Kubernetes version for .Capabilities (default v1.31.0)
  -a, --api-versions GV      extra API versions for .Capabilities.APIVersions (repeatable)
  -s, --show-only PATH       only show manifests rendered from PATH (repeatable)
      --include-crds         include CRDs from the chart's crds/ directory
      --is-upgrade           set .Release.IsUpgrade instead of .Release.IsInstall
      --skip-schema-validation
      --print-values         print the computed values as JSON and exit (stand-in only)
      --dump-rendered        print every rendered template, raw, as a JSON object (stand-in only)
`
}

func parseArgs(args []string) (*options, error) {
	o := &options{namespace: "default", kubeVersion: "v1.31.0"}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "-") && strings.Contains(a, "=") {
			idx := strings.Index(a, "=")
			name, val, hasVal = a[:idx], a[idx+1:], true
		}
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag needs an argument: %s", name)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch name {
		case "-f", "--values":
			if v, err = next(); err == nil {
				o.valueFiles = append(o.valueFiles, strings.Split(v, ",")...)
			}
		case "--set":
			if v, err = next(); err == nil {
				o.sets = append(o.sets, v)
			}
		case "--set-string":
			if v, err = next(); err == nil {
				o.setStrings = append(o.setStrings, v)
			}
		case "--set-file":
			if v, err = next(); err == nil {
				o.setFiles = append(o.setFiles, v)
			}
		case "--set-json":
			if v, err = next(); err == nil {
				o.setJSON = append(o.setJSON, v)
			}
		case "--set-literal":
			if v, err = next(); err == nil {
				o.setLiterals = append(o.setLiterals, v)
			}
		case "-n", "--namespace":
			o.namespace, err = next()
		case "--kube-version":
			o.kubeVersion, err = next()
		case "-a", "--api-versions":
			if v, err = next(); err == nil {
				o.apiVersions = append(o.apiVersions, strings.Split(v, ",")...)
			}
		case "-s", "--show-only":
			if v, err = next(); err == nil {
				o.showOnly = append(o.showOnly, v)
			}
		case "--include-crds":
			o.includeCRDs = true
		case "--is-upgrade":
			o.isUpgrade = true
		case "--skip-schema-validation":
			o.skipSchema = true
		case "--print-values":
			o.printValues = true
		case "--dump-rendered":
			o.dumpRendered = true
		case "-h", "--help":
			return nil, fmt.Errorf("%s", usage())
		default:
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("unknown flag: %s (the stand-in supports the flags listed by --help; install helm for the rest)", a)
			}
			positional = append(positional, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(positional) > 0 && positional[0] == "template" {
		positional = positional[1:]
	}
	switch len(positional) {
	case 1:
		o.release, o.chartPath = "release-name", positional[0]
	case 2:
		o.release, o.chartPath = positional[0], positional[1]
	default:
		return nil, fmt.Errorf("expected RELEASE and CHART arguments, got %d arguments\n\n%s", len(positional), usage())
	}
	if err := validateReleaseName(o.release); err != nil {
		return nil, err
	}
	return o, nil
}

func validateReleaseName(name string) error {
	if len(name) > 53 {
		return fmt.Errorf("release name %q exceeds max length of 53", name)
	}
	for i, r := range name {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.'
		if !ok || ((i == 0 || i == len(name)-1) && (r == '-' || r == '.')) {
			return fmt.Errorf("invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53")
		}
	}
	return nil
}

func run(args []string) (string, error) {
	o, err := parseArgs(args)
	if err != nil {
		return "", err
	}
	chartPath, err := resolveChartRef(o.chartPath)
	if err != nil {
		return "", err
	}
	ch, err := loadChart(chartPath)
	if err != nil {
		return "", err
	}
	userVals, err := mergeUserValues(o)
	if err != nil {
		return "", err
	}
	vals := coalesceValues(ch, userVals)
	if o.printValues {
		b, err := json.Marshal(vals)
		return string(b) + "\n", err
	}
	if !o.skipSchema && ch.schema != nil {
		if errs := validateSchema(ch.schema, vals); len(errs) > 0 {
			sort.Strings(errs)
			return "", fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n- %s", ch.meta["name"], strings.Join(errs, "\n- "))
		}
	}
	caps, err := newCapabilities(o.kubeVersion, o.apiVersions)
	if err != nil {
		return "", err
	}
	if kv, ok := ch.meta["kubeVersion"].(string); ok && kv != "" {
		if err := checkKubeVersion(kv, caps.KubeVersion.Version); err != nil {
			return "", err
		}
	}
	subs, err := enabledSubcharts(ch, vals)
	if err != nil {
		return "", err
	}
	rendered, err := render(ch, o, vals, caps)
	if err != nil {
		return "", err
	}
	if o.dumpRendered {
		b, err := json.MarshalIndent(rendered, "", "  ")
		return string(b) + "\n", err
	}
	return assemble(ch, subs, o, rendered)
}

func main() {
	for _, a := range os.Args[1:] {
		if a == "-h" || a == "--help" {
			fmt.Print(usage())
			return
		}
	}
	out, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

// resolveChartRef maps a repository reference such as `grafana/alloy` to a local chart directory
// through HELM_TEMPLATE_REPOS ("name=dir,name=dir"), the stand-in's equivalent of `helm repo add`.
// Paths that exist are used as they are.
func resolveChartRef(ref string) (string, error) {
	if _, err := os.Stat(ref); err == nil {
		return ref, nil
	}
	parts := strings.Split(ref, "/")
	if len(parts) != 2 || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") {
		return ref, nil
	}
	for _, entry := range strings.Split(os.Getenv("HELM_TEMPLATE_REPOS"), ",") {
		kv := strings.SplitN(strings.TrimSpace(entry), "=", 2)
		if len(kv) == 2 && kv[0] == parts[0] {
			dir := filepath.Join(kv[1], parts[1])
			if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
				return "", fmt.Errorf("chart %q not found in %s repository (%s)", parts[1], parts[0], kv[1])
			}
			return dir, nil
		}
	}
	return "", fmt.Errorf("repo %s not found (the stand-in maps repositories with HELM_TEMPLATE_REPOS=name=dir; bin/helm-template maps grafana to charts/)", parts[0])
}
