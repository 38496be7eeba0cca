// Package deploy renders the deployment files of an extracted module (SPEC
// §8, `extract deploy`; §10): a kustomize overlay over deploy/k8s/base that
// runs the module in its own Deployment next to the monolith, the `full`
// overlay that runs every module on its own behind a gateway, and a compose
// file fragment per module.
//
// Everything is derived from a module's facts (Facts): its name gives its
// image, Service, ConfigMap and environment variable names (<MODULE>_DATABASE_URL,
// APP_REMOTE_<MODULE>); the list of every module gives the APP_REMOTE_* a
// process needs for the modules it does not run (platform/config refuses to
// start without one for each), at the internal port of its Service
// (APP_INTERNAL_ADDR, the only listener serving /internal); the secrets its
// settings read (config.Reader.Secret) go to its Deployment and leave the
// monolith's; the modules it calls are recorded on its Deployment. The files
// under deploy/k8s/overlays/extracted-* and deploy/k8s/overlays/full are this
// package's output, kept current by a test (go test ./internal/deploy -update
// rewrites them).
package deploy
