// Package prometheus_test checks the alert rules of deploy/prometheus and the
// dashboard of deploy/grafana (SPEC §10): the rules with promtool (syntax and
// their unit tests in alerts_test.yml), the dashboard's panels, and that every
// metric either names is one the application exposes.
package prometheus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/host"
)

const (
	rulesFile     = "alerts.yml"
	rulesTestFile = "alerts_test.yml"
	dashboardFile = "../grafana/shop.json"
)

// splitOnly are the metric families that exist only in a split deployment:
// a process registers them when it calls a module running in another
// process (platform/rpc). In the monolith every module is local, so they
// are absent from its registry. Nothing else belongs here.
var splitOnly = map[string]bool{
	"rpc_client_calls_total":           true,
	"rpc_client_call_duration_seconds": true,
	"rpc_breaker_state":                true,
	"rpc_bulkhead_in_use":              true,
	"rpc_instance_up":                  true,
}

// promtool returns the path of promtool, failing the test when it is not
// installed: the rules are part of the deployment and are always checked.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (Debian package prometheus): run `make services` "+
			"(scripts/services.sh installs it): %v", err)
	}
	return path
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestRulesCheck(t *testing.T) {
	t.Parallel()
	runPromtool(t, "check", "rules", rulesFile)
}

func TestRulesUnitTests(t *testing.T) {
	t.Parallel()
	runPromtool(t, "test", "rules", rulesTestFile)
}

// Every alert of alerts.yml has a unit test in alerts_test.yml that expects
// it to fire, and one evaluation where it must not.
func TestEveryAlertIsTested(t *testing.T) {
	t.Parallel()
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, rulesTestFile, &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, r := range alertRules(t) {
		if !fires[r.Alert] {
			t.Errorf("%s: no test in %s where it fires", r.Alert, rulesTestFile)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no test in %s where it must not fire", r.Alert, rulesTestFile)
		}
	}
}

// Every alert says how bad it is and what happened, with values.
func TestAlertsAreDescribed(t *testing.T) {
	t.Parallel()
	for _, r := range alertRules(t) {
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
		}
		for _, k := range []string{"summary", "description"} {
			if !strings.Contains(r.Annotations[k], "{{") {
				t.Errorf("%s: annotation %s missing or without a templated value", r.Alert, k)
			}
		}
	}
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func alertRules(t *testing.T) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []rule `json:"rules"`
		} `json:"groups"`
	}
	readYAML(t, rulesFile, &f)
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules", rulesFile)
	}
	return rules
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// panels lists the dashboard's panels, those of collapsed rows included,
// without the rows.
func (d dashboard) panels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

// exprs returns every PromQL expression of the dashboard by where it is.
func (d dashboard) exprs() map[string]string {
	out := map[string]string{}
	for _, p := range d.panels() {
		for i, tg := range p.Targets {
			out[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
		}
	}
	return out
}

// variableQueries returns the queries of the query variables, as label_values
// and query_result forms reduce to PromQL: their metric selector.
func (d dashboard) variableQueries(t *testing.T) map[string]string {
	out := map[string]string{}
	labelValues := regexp.MustCompile(`^\s*(?:label_values|query_result)\((.*?)(?:,\s*[A-Za-z_][A-Za-z0-9_]*)?\)\s*$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		var obj struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("variable %s: query: %v", v.Name, err)
			}
			q = obj.Query
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(…) or query_result(…)", v.Name, q)
			continue
		}
		out["variable "+v.Name] = m[1]
	}
	return out
}

func TestDashboardPanels(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	ps := d.panels()
	if len(ps) == 0 {
		t.Fatal("no panels")
	}
	for i, p := range ps {
		name := fmt.Sprintf("panel %d (%q)", i, p.Title)
		if strings.TrimSpace(p.Title) == "" {
			t.Errorf("%s: no title", name)
		}
		if ds := strings.TrimSpace(string(p.Datasource)); ds == "" || ds == "null" || ds == "{}" {
			t.Errorf("%s: no datasource", name)
		} else if !strings.Contains(ds, "${DS_PROMETHEUS}") {
			t.Errorf("%s: datasource %s, want the ${DS_PROMETHEUS} input", name, ds)
		}
		n := 0
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) != "" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no target with an expr", name)
		}
	}
}

// The dashboard's expressions parse: promtool checks them as recording rules,
// Grafana's variables replaced by values of their kind.
func TestDashboardExpressionsParse(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	grafanaVars := strings.NewReplacer(
		"$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	)
	userVar := regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
	type recording struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var recs []recording
	all := d.exprs()
	maps.Copy(all, d.variableQueries(t))
	for _, where := range slices.Sorted(maps.Keys(all)) {
		e := userVar.ReplaceAllString(grafanaVars.Replace(all[where]), ".*")
		recs = append(recs, recording{Record: fmt.Sprintf("dashboard:expr_%d", len(recs)), Expr: e})
		t.Logf("%s: %s", where, e)
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": recs}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}

// Every metric the rules and the dashboard use is one the application
// exposes, booted in process as cmd/app boots it (every module, one process).
func TestMetricsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application against Postgres")
	}
	used := map[string][]string{} // metric → where
	for _, r := range alertRules(t) {
		for _, m := range metricNames(r.Expr) {
			used[m] = append(used[m], "alert "+r.Alert)
		}
	}
	d := loadDashboard(t)
	all := d.exprs()
	maps.Copy(all, d.variableQueries(t))
	for where, e := range all {
		for _, m := range metricNames(e) {
			used[m] = append(used[m], where)
		}
	}
	if len(used) == 0 {
		t.Fatal("no metric names found in the rules and the dashboard")
	}

	exposed := exposedMetrics(t)
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(used)) {
		family, ok := resolve(name, exposed)
		switch {
		case ok:
		case splitOnly[family]:
			t.Logf("%s: only in split deployments (allowed)", name)
		default:
			where := slices.Compact(slices.Sorted(slices.Values(used[name])))
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, strings.Join(where, "; ")))
		}
	}
	if len(missing) > 0 {
		t.Errorf("metrics the rules or the dashboard use that the application does not expose:\n\t%s",
			strings.Join(missing, "\n\t"))
	}
}

// resolve maps a series name to its metric family: itself, or for a
// histogram's or summary's _bucket, _sum and _count the family. It reports
// whether the family is exposed (and, when its type is known, of a kind that
// has that series).
func resolve(name string, exposed map[string]dto.MetricType) (string, bool) {
	if _, ok := exposed[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		typ, ok := exposed[base]
		if !ok {
			return base, false
		}
		switch typ {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			return base, true
		case dto.MetricType_SUMMARY:
			return base, suffix != "_bucket"
		case unknownType:
			return base, true
		}
		return base, false
	}
	return name, false
}

// unknownType marks a family known from its descriptor only (a vector with
// no series yet), whose type the registry does not tell.
const unknownType dto.MetricType = -1

// exposedMetrics boots the whole application (internal/apptest)
// and returns the metric families of its registry: those gathered, and those
// only described (vectors that have no series until first used).
func exposedMetrics(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	var reg *host.Registry
	apptest.Start(t, map[string]string{
		"APP_JWT_SECRET":     "prometheus-rules-test-secret-0123456789abcdef",
		"APP_ADMIN_PASSWORD": "prometheus-rules-admin-password",
	}, &reg)

	exposed := map[string]dto.MetricType{}
	descs := make(chan *prometheus.Desc)
	go func() { reg.Describe(descs); close(descs) }()
	fqName := regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			exposed[m[1]] = unknownType
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		exposed[f.GetName()] = f.GetType()
	}
	if len(exposed) == 0 {
		t.Fatal("the registry exposes no metric")
	}
	return exposed
}

// promqlWords are PromQL's keywords, aggregation operators and functions,
// and Grafana's variable functions: identifiers that are not metrics.
var promqlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		and or unless by without on ignoring group_left group_right bool offset atan2 inf nan
		sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
		abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week
		day_of_year days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction
		histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters double_exponential_smoothing
		hour idelta increase irate label_join label_replace ln log2 log10 minute month predict_linear
		rate resets round scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp vector year
		avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time
		stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time
		acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg pi rad
		label_values query_result`) {
		promqlWords[w] = true
	}
}

var (
	// Quoted strings: label values, regular expressions.
	promqlString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	// Label matchers, ranges and subqueries, and the label lists of
	// grouping and vector matching: none names a metric.
	promqlBraces   = regexp.MustCompile(`\{[^}]*\}`)
	promqlBrackets = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	// Grafana's variables ($__rate_interval, $route, ${DS}).
	grafanaVar = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	// Identifiers, and numbers and durations (1e3, 0x1f, 5m, 1h30m) so that
	// their letters are not read as identifiers.
	promqlToken = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|[A-Za-z_:][A-Za-z0-9_:]*`)
)

// metricNames returns the metric names an expression selects, sorted.
func metricNames(expr string) []string {
	e := promqlString.ReplaceAllString(expr, `""`)
	e = grafanaVar.ReplaceAllString(e, "")
	e = promqlBraces.ReplaceAllString(e, "")
	e = promqlBrackets.ReplaceAllString(e, "")
	e = promqlGrouping.ReplaceAllString(e, "")
	names := map[string]bool{}
	for _, loc := range promqlToken.FindAllStringIndex(e, -1) {
		tok := e[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || promqlWords[tok] {
			continue
		}
		// An identifier called like a function is one, even one this list
		// does not know yet.
		if rest := strings.TrimLeft(e[loc[1]:], " \t\r\n"); strings.HasPrefix(rest, "(") {
			continue
		}
		names[tok] = true
	}
	return slices.Sorted(maps.Keys(names))
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string][]string{
		`max by (module) (bus_outbox_oldest_age_seconds) > 60`: {"bus_outbox_oldest_age_seconds"},
		`histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{route=~"$route"}[$__rate_interval])))`: {
			"http_request_duration_seconds_bucket"},
		`sum by (route) (rate(http_requests_total{status=~"5..",route!="a:b"}[5m])) / on (route) group_left sum by (route) (rate(x_total[5m] offset 1h)) > 1e3`: {
			"http_requests_total", "x_total"},
		`db_pool_connections{state="acquired"} >= ignoring (state) db_pool_connections{state="max"}`: {"db_pool_connections"},
		`sum(rate(a_total[5m:1m])) without (instance) and bool b == 0x1f unless c{job="and"}`:        {"a_total", "b", "c"},
		`label_values(http_requests_total{job=~"$job"}, route)`:                                      {"http_requests_total", "route"},
		`{__name__="foo"}`: nil,
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
	// The variable's label argument is dropped before names are taken.
	d := dashboard{}
	d.Templating.List = append(d.Templating.List, struct {
		Name  string          `json:"name"`
		Type  string          `json:"type"`
		Query json.RawMessage `json:"query"`
	}{"route", "query", json.RawMessage(`{"query":"label_values(http_requests_total{job=~\"$job\"}, route)"}`)})
	if got := metricNames(d.variableQueries(t)["variable route"]); !slices.Equal(got, []string{"http_requests_total"}) {
		t.Errorf("variable route: metric names %v", got)
	}

	exposed := map[string]dto.MetricType{
		"h_seconds": dto.MetricType_HISTOGRAM, "c_total": dto.MetricType_COUNTER, "v_seconds": unknownType,
	}
	for name, want := range map[string]bool{
		"h_seconds_bucket": true, "h_seconds_count": true, "h_seconds": true, "c_total": true,
		"v_seconds_bucket": true, "c_total_bucket": false, "nope": false, "nope_count": false,
	} {
		if _, got := resolve(name, exposed); got != want {
			t.Errorf("resolve(%s) = %v, want %v", name, got, want)
		}
	}
}
