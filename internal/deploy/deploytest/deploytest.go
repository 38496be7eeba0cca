// Package deploytest builds kustomize overlays the way `kustomize build`
// does, decodes every object strictly into the Kubernetes API types, and
// checks the deployment rules of SPEC §10 on the result. Only tests import
// it: it links kustomize and k8s.io/api, which no binary needs.
package deploytest

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/modmono/shop/internal/deploy"
	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/modkit"
)

// Objects are the objects of one built overlay, by kind, in build order.
type Objects struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	ConfigMaps      []*corev1.ConfigMap
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	PDBs            []*policyv1.PodDisruptionBudget
	NetworkPolicies []*networkingv1.NetworkPolicy
}

// kustomizing serialises kustomize runs: Kustomizer.Run is not safe to call
// from several goroutines (kyaml's OpenAPI schema is a global set and
// parsed lazily; kubernetes-sigs/kustomize#4824, #5805), and parallel tests
// build overlays at once.
var kustomizing sync.Mutex

// Build runs kustomize on the overlay in dir, on disk, and decodes every
// object strictly: an unknown field, a duplicate field or a kind this
// package does not know is an error.
func Build(dir string) (*Objects, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	kustomizing.Lock()
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	kustomizing.Unlock()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	o := &Objects{}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		if err := o.add(r.GetApiVersion(), r.GetKind(), y); err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", dir, r.GetKind(), r.GetName(), err)
		}
	}
	return o, nil
}

func (o *Objects) add(apiVersion, kind string, y []byte) error {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return decode(y, &o.Deployments)
	case "v1 Service":
		return decode(y, &o.Services)
	case "v1 ConfigMap":
		return decode(y, &o.ConfigMaps)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return decode(y, &o.HPAs)
	case "policy/v1 PodDisruptionBudget":
		return decode(y, &o.PDBs)
	case "networking.k8s.io/v1 NetworkPolicy":
		return decode(y, &o.NetworkPolicies)
	}
	return fmt.Errorf("unexpected kind %s %s: add it to deploytest, with its checks", apiVersion, kind)
}

// decode decodes y strictly into a new element of *list, as the API server
// does: field names are case-sensitive (encoding/json alone would take
// readOnlyRootFileSystem for readOnlyRootFilesystem), and unknown or
// duplicate fields are errors.
func decode[T any](y []byte, list *[]*T) error {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return err
	}
	v := new(T)
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	if err := errors.Join(strict...); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// Deployment returns the Deployment named name.
func (o *Objects) Deployment(name string) *appsv1.Deployment {
	for _, d := range o.Deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// ConfigMap returns the ConfigMap named name.
func (o *Objects) ConfigMap(name string) *corev1.ConfigMap {
	for _, c := range o.ConfigMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Value is one resolved environment variable of a container.
type Value struct {
	Literal string                    // from the manifest or a ConfigMap
	Secret  *corev1.SecretKeySelector // from a Secret
}

// Env resolves the environment of container c: its envFrom ConfigMaps, then
// its env (which wins, as in Kubernetes). A reference to a ConfigMap that
// is not in o is an error.
func (o *Objects) Env(c corev1.Container) (map[string]Value, error) {
	env := map[string]Value{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil || from.SecretRef != nil {
			return nil, fmt.Errorf("container %s: envFrom only from a ConfigMap (secrets one by one, by secretKeyRef)", c.Name)
		}
		cm := o.ConfigMap(from.ConfigMapRef.Name)
		if cm == nil {
			return nil, fmt.Errorf("container %s: envFrom ConfigMap %q is not in the build", c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[from.Prefix+k] = Value{Literal: v}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = Value{Literal: e.Value}
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = Value{Secret: e.ValueFrom.SecretKeyRef}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			cm := o.ConfigMap(e.ValueFrom.ConfigMapKeyRef.Name)
			if cm == nil {
				return nil, fmt.Errorf("container %s: %s: ConfigMap %q is not in the build", c.Name, e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
			}
			env[e.Name] = Value{Literal: cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]}
		default:
			return nil, fmt.Errorf("container %s: %s: only values, ConfigMap and Secret keys expected", c.Name, e.Name)
		}
	}
	return env, nil
}

// SecretName matches the names of variables that hold a secret: they must
// come from the Secret SecretRef names, never a literal or a ConfigMap.
// APP_REDIS_URL holds Redis's password.
var SecretName = regexp.MustCompile(`(^|_)DATABASE_URL$|^AMQP_URL$|^APP_REDIS_URL$|SECRET|PASSWORD|PRIVATE_KEY|TOKEN|CREDENTIAL`)

// OptionalSecrets may be referenced as optional keys of SecretRef: their
// settings are optional (without APP_REDIS_URL, each process counts rate
// limits on its own), so a deployment adds the key when it wants them.
// Every other missing secret must stop the rollout.
var OptionalSecrets = []string{"APP_REDIS_URL"}

// SecretRef is the Secret every secret comes from (deploy/README.md).
const SecretRef = "shop-secrets"

// Process is what Check learns about one Deployment.
type Process struct {
	Deployment *appsv1.Deployment
	Config     config.Config // platform/config loaded from its resolved environment
	Env        map[string]Value
}

// Check applies the deployment rules to o, given every module of the system
// in start-up order, and returns the processes (one per Deployment) with
// their configuration as the app would load it, and every broken rule.
func (o *Objects) Check(known []string) (map[string]Process, error) {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	procs := map[string]Process{}

	if len(o.Deployments) == 0 {
		fail("no Deployment")
	}
	for _, cm := range o.ConfigMaps {
		for k := range cm.Data {
			if SecretName.MatchString(k) {
				fail("ConfigMap %s holds %s, a secret: reference it from %s instead", cm.Name, k, SecretRef)
			}
		}
	}
	for _, d := range o.Deployments {
		errs = append(errs, o.checkDeployment(d)...)
		p, perrs := o.process(d, known)
		errs = append(errs, perrs...)
		if p.Deployment != nil {
			procs[d.Name] = p
		}
	}
	// More than one process (several Deployments or replicas): the
	// in-process bus would keep each one's events to itself.
	several := len(o.Deployments) > 1
	for _, h := range o.HPAs {
		several = several || h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > 1
	}
	// Rate limits are one budget only if every process counts them in the
	// same Redis.
	for name, p := range procs {
		for other, q := range procs {
			if a, b := p.Env["APP_REDIS_URL"], q.Env["APP_REDIS_URL"]; a.Secret == nil && b.Secret != nil {
				fail("Deployment %s has no APP_REDIS_URL but %s has: their rate limits would be counted apart", name, other)
			}
		}
	}
	for name, p := range procs {
		for _, err := range o.checkInternal(p) {
			fail("Deployment %s: %v", name, err)
		}
		if several && p.Config.Bus != "amqp" {
			fail("Deployment %s: APP_BUS=%s with several processes: want amqp", name, p.Config.Bus)
		}
		for module, urls := range p.Config.Remotes {
			for _, u := range urls {
				if err := o.routes(procs, module, u); err != nil {
					fail("Deployment %s: %s: %v", name, "APP_REMOTE_"+strings.ToUpper(module), err)
				}
			}
		}
	}
	return procs, errors.Join(errs...)
}

// process loads the configuration of d's container "app" with
// process.Load, as the binary of its image would at start (secrets replaced by valid
// stand-ins).
func (o *Objects) process(d *appsv1.Deployment, known []string) (Process, []error) {
	i := slices.IndexFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == "app" })
	if i < 0 {
		return Process{}, []error{fmt.Errorf("Deployment %s: no container named app", d.Name)}
	}
	c := d.Spec.Template.Spec.Containers[i]
	env, err := o.Env(c)
	if err != nil {
		return Process{}, []error{fmt.Errorf("Deployment %s: %w", d.Name, err)}
	}
	var errs []error
	getenv := func(name string) string {
		v, ok := env[name]
		switch {
		case !ok:
			return ""
		case v.Secret != nil:
			return standIn(name)
		}
		return v.Literal
	}
	for name, v := range env {
		switch {
		case SecretName.MatchString(name) && v.Secret == nil:
			errs = append(errs, fmt.Errorf("Deployment %s: %s has a literal value: a secret must come from secretKeyRef %s", d.Name, name, SecretRef))
		case v.Secret != nil && (v.Secret.Name != SecretRef || v.Secret.Key != name):
			errs = append(errs, fmt.Errorf("Deployment %s: %s: want key %s of Secret %s, got %s of %s", d.Name, name, name, SecretRef, v.Secret.Key, v.Secret.Name))
		case v.Secret != nil && v.Secret.Optional != nil && *v.Secret.Optional && !slices.Contains(OptionalSecrets, name):
			errs = append(errs, fmt.Errorf("Deployment %s: %s is optional: a missing secret must stop the rollout", d.Name, name))
		}
	}
	linked := linkedModules(c.Image, known)
	if linked == nil {
		return Process{}, append(errs, fmt.Errorf("Deployment %s: image %q is neither %s nor %s-<module>", d.Name, c.Image, deploy.Monolith, deploy.Monolith))
	}
	cfg, err := process.Load(getenv, definitions(linked))
	if err != nil {
		return Process{}, append(errs, fmt.Errorf("Deployment %s: the app would refuse to start: %w", d.Name, err))
	}
	if cfg.Env != "prod" {
		errs = append(errs, fmt.Errorf("Deployment %s: APP_ENV=%s: want prod", d.Name, cfg.Env))
	}
	for _, err := range CheckSecrets(func(name string) bool { _, ok := env[name]; return ok }, cfg.Secrets) {
		errs = append(errs, fmt.Errorf("Deployment %s: %w", d.Name, err))
	}
	return Process{Deployment: d, Config: cfg.Config, Env: env}, errs
}

// DeclaredSecrets returns every secret of the system, as declared by what
// reads it (config.Reader.Secret): the process settings' and each module's.
func DeclaredSecrets() []string {
	out := deploy.ProcessSecrets()
	for _, m := range deploy.Facts(modules.All) {
		for _, s := range m.Secrets {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// CheckSecrets checks that a process is given each declared secret if and
// only if it reads it: reads is what it reads (process.Config.Secrets),
// given whether its environment holds a name. A process holding a secret it
// does not read could still use it (with identity's signing key, mint user
// tokens); one lacking a secret it reads does not start.
func CheckSecrets(given func(name string) bool, reads []string) []error {
	var errs []error
	for _, s := range DeclaredSecrets() {
		switch read := slices.Contains(reads, s); {
		case read && !given(s):
			errs = append(errs, fmt.Errorf("reads the secret %s but is not given it", s))
		case !read && given(s):
			errs = append(errs, fmt.Errorf("is given the secret %s, which it does not read: a secret goes only to the processes that read it", s))
		}
	}
	return errs
}

// linkedModules returns the modules linked into image: every one for the
// monolith's image, one for a module's, nil for another image.
func linkedModules(image string, known []string) []string {
	name, _, _ := strings.Cut(image, ":")
	name = name[strings.LastIndex(name, "/")+1:]
	if name == deploy.Monolith {
		return known
	}
	if m, ok := strings.CutPrefix(name, deploy.Monolith+"-"); ok && slices.Contains(known, m) {
		return []string{m}
	}
	return nil
}

// definitions returns the modules named, as the binary linking them has
// them: each module's own settings are checked where it runs.
func definitions(names []string) []modkit.Definition {
	defs := []modkit.Definition{}
	for _, m := range modules.All {
		if slices.Contains(names, m.Name) {
			defs = append(defs, m)
		}
	}
	return defs
}

// standIn is a valid value for the secret variable name.
func standIn(name string) string {
	switch {
	case strings.HasSuffix(name, "DATABASE_URL"):
		return "postgres://shop:pw@postgres:5432/shop?sslmode=disable"
	case name == "AMQP_URL":
		return "amqp://shop:pw@rabbitmq:5672/"
	case name == "APP_REDIS_URL":
		return "redis://:pw@redis:6379/0"
	}
	return "a-stand-in-secret-of-more-than-32-bytes-42"
}

// routes checks that base, an APP_REMOTE_<module> URL, names a Service of o
// on a port that leads to the internal listener of pods running module
// (APP_INTERNAL_ADDR, or APP_HTTP_ADDR where there is none: only there is
// /internal served).
func (o *Objects) routes(procs map[string]Process, module, base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	for _, s := range o.Services {
		if s.Name != u.Hostname() {
			continue
		}
		i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == port })
		if i < 0 {
			return fmt.Errorf("Service %s has no port %s", s.Name, port)
		}
		for name, p := range procs {
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Deployment.Spec.Template.Labels)) {
				continue
			}
			if !p.Config.Local(module) {
				return fmt.Errorf("%s: Service %s selects Deployment %s, which does not run %s", base, s.Name, name, module)
			}
			want, target := p.internalPort(), targetPort(p.app(), s.Spec.Ports[i])
			if target != want {
				return fmt.Errorf("%s: port %s of Service %s leads to port %d of Deployment %s, not to its internal listener on %d (APP_INTERNAL_ADDR), the only one serving /internal", base, port, s.Name, target, name, want)
			}
			return nil
		}
		return fmt.Errorf("%s: Service %s selects no Deployment", base, s.Name)
	}
	return fmt.Errorf("%s: no Service %s", base, u.Hostname())
}

// app returns the container "app" of p's pods (process has checked it is there).
func (p Process) app() corev1.Container {
	cs := p.Deployment.Spec.Template.Spec.Containers
	return cs[slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == "app" })]
}

// internalPort is the port of p's listener that serves /internal: that of
// APP_INTERNAL_ADDR when set, else APP_HTTP_ADDR's.
func (p Process) internalPort() int32 {
	addr := p.Config.InternalAddr
	if addr == "" {
		addr = p.Config.HTTPAddr
	}
	return addrPort(addr)
}

// addrPort is the port of a host:port listen address (0 when unreadable:
// platform/config has refused it already).
func addrPort(addr string) int32 {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(port, 10, 32)
	return int32(n)
}

// targetPort is the container port of c that the Service port sp sends to.
func targetPort(c corev1.Container, sp corev1.ServicePort) int32 {
	switch {
	case sp.TargetPort.Type == intstr.String:
		for _, cp := range c.Ports {
			if cp.Name == sp.TargetPort.StrVal {
				return cp.ContainerPort
			}
		}
		return 0
	case sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal
	}
	return sp.Port
}

// checkInternal checks the internal listener of p: every Deployment has one
// (APP_INTERNAL_ADDR), so /internal is never served on the public port; its
// container declares it; and its NetworkPolicies admit it only from the
// shop's own pods, and let the pods reach it on the others.
func (o *Objects) checkInternal(p Process) []error {
	if p.Config.InternalAddr == "" {
		return []error{errors.New("no APP_INTERNAL_ADDR: /internal would be served on the public port")}
	}
	port := addrPort(p.Config.InternalAddr)
	c := p.app()
	if !servesPort(c, fmt.Sprint(port)) {
		return []error{fmt.Errorf("APP_INTERNAL_ADDR=%s, but container %s declares no port %d", p.Config.InternalAddr, c.Name, port)}
	}
	admits := func(ports []networkingv1.NetworkPolicyPort) bool {
		return len(ports) == 0 || slices.ContainsFunc(ports, func(np networkingv1.NetworkPolicyPort) bool {
			return np.Port == nil || np.Port.Type == intstr.Int && np.Port.IntVal == port ||
				np.Port.Type == intstr.String && servesPort(c, np.Port.StrVal) && slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
					return cp.Name == np.Port.StrVal && cp.ContainerPort == port
				})
		})
	}
	var errs []error
	podLabels := labels.Set(p.Deployment.Spec.Template.Labels)
	for _, n := range o.NetworkPolicies {
		if s, err := metav1.LabelSelectorAsSelector(&n.Spec.PodSelector); err != nil || s.Empty() || !s.Matches(podLabels) {
			continue
		}
		in, out := false, false
		for _, r := range n.Spec.Ingress {
			if !admits(r.Ports) {
				continue
			}
			if len(r.From) == 0 || !slices.ContainsFunc(r.From, shopPods) || slices.ContainsFunc(r.From, func(peer networkingv1.NetworkPolicyPeer) bool { return !shopPods(peer) }) {
				errs = append(errs, fmt.Errorf("NetworkPolicy %s admits the internal port %d from outside the shop's pods (want only podSelector %s=%s)", n.Name, port, partOf, deploy.Monolith))
			}
			in = true
		}
		for _, r := range n.Spec.Egress {
			if admits(r.Ports) && (len(r.To) == 0 || slices.ContainsFunc(r.To, shopPods)) {
				out = true
			}
		}
		if !in {
			errs = append(errs, fmt.Errorf("NetworkPolicy %s does not admit the internal port %d from the shop's pods: no process could call it", n.Name, port))
		}
		if !out && len(p.Config.Remotes) > 0 {
			errs = append(errs, fmt.Errorf("NetworkPolicy %s lets it reach no shop pod on port %d: it could not call its remotes", n.Name, port))
		}
	}
	return errs
}

// partOf is the label every pod of the shop has.
const partOf = "app.kubernetes.io/part-of"

// shopPods reports whether peer is exactly the shop's pods of the namespace.
func shopPods(peer networkingv1.NetworkPolicyPeer) bool {
	return peer.IPBlock == nil && peer.NamespaceSelector == nil && peer.PodSelector != nil &&
		len(peer.PodSelector.MatchExpressions) == 0 && maps.Equal(peer.PodSelector.MatchLabels, map[string]string{partOf: deploy.Monolith})
}

// checkDeployment checks the rules of one Deployment and what points at it.
func (o *Objects) checkDeployment(d *appsv1.Deployment) []error {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("Deployment %s: "+format, append([]any{d.Name}, a...)...))
	}
	tpl := d.Spec.Template
	podLabels := labels.Set(tpl.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	switch {
	case err != nil || d.Spec.Selector == nil || sel.Empty():
		fail("no usable selector")
	case !sel.Matches(podLabels):
		fail("selector %s does not match its template labels %v", sel, tpl.Labels)
	}
	if !slices.ContainsFunc(o.Services, func(s *corev1.Service) bool {
		return len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels)
	}) {
		fail("no Service selects its pods")
	}
	if !slices.ContainsFunc(o.PDBs, func(p *policyv1.PodDisruptionBudget) bool {
		s, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		return err == nil && !s.Empty() && s.Matches(podLabels)
	}) {
		fail("no PodDisruptionBudget selects its pods")
	}
	if !slices.ContainsFunc(o.HPAs, func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		r := h.Spec.ScaleTargetRef
		return r.Kind == "Deployment" && r.APIVersion == "apps/v1" && r.Name == d.Name
	}) {
		fail("no HorizontalPodAutoscaler scales it")
	}
	if !slices.ContainsFunc(o.NetworkPolicies, func(n *networkingv1.NetworkPolicy) bool {
		s, err := metav1.LabelSelectorAsSelector(&n.Spec.PodSelector)
		return err == nil && !s.Empty() && s.Matches(podLabels) &&
			slices.Contains(n.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
			slices.Contains(n.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}) {
		fail("no NetworkPolicy (ingress and egress) selects its pods")
	}
	if d.Spec.Replicas != nil {
		fail("sets replicas, which its HorizontalPodAutoscaler owns")
	}
	for _, k := range []string{"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"} {
		if tpl.Annotations[k] == "" {
			fail("pod template lacks the annotation %s", k)
		}
	}
	pod := tpl.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		fail("pod seccompProfile is not RuntimeDefault")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		fail("pod runAsUser is not a non-zero UID")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		fail("mounts a service account token it does not use")
	}
	if len(pod.Containers) == 0 {
		fail("no container")
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		errs = append(errs, checkContainer(d.Name, c, psc)...)
	}
	return errs
}

func checkContainer(deployment string, c corev1.Container, psc *corev1.PodSecurityContext) []error {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("Deployment %s, container %s: "+format, append([]any{deployment, c.Name}, a...)...))
	}
	if c.Image == "" {
		fail("no image")
	}
	probe := func(kind string, p *corev1.Probe, path string) {
		switch {
		case p == nil || p.HTTPGet == nil:
			fail("no HTTP %s probe", kind)
		case p.HTTPGet.Path != path:
			fail("%s probe on %s: want %s", kind, p.HTTPGet.Path, path)
		case !servesPort(c, p.HTTPGet.Port.String()):
			fail("%s probe on port %s, which the container does not declare", kind, p.HTTPGet.Port.String())
		}
	}
	probe("liveness", c.LivenessProbe, "/health/live")
	probe("readiness", c.ReadinessProbe, "/health/ready")
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			fail("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			fail("no %s limit", r)
		}
	}
	sc := c.SecurityContext
	nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) ||
		(sc == nil || sc.RunAsNonRoot == nil) && psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if !nonRoot {
		fail("runAsNonRoot is not true")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		fail("readOnlyRootFilesystem is not true")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		fail("allowPrivilegeEscalation is not false")
	}
	if sc == nil || sc.Privileged != nil && *sc.Privileged {
		fail("privileged")
	}
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		fail("capabilities: want drop ALL and add none")
	}
	return errs
}

// servesPort reports whether c declares port, by name or number.
func servesPort(c corev1.Container, port string) bool {
	return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.Name == port || fmt.Sprint(p.ContainerPort) == port
	})
}
