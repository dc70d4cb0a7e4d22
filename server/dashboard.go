package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The performance dashboard (GET /performance/dashboard) is a page, a script and a style
// sheet embedded in the binary: it polls GET /api/performance/metrics and draws its own
// charts, so it needs nothing from another host and building it needs nothing but go build.
//
//go:embed dashboard
var dashboardFiles embed.FS

// dashboardAsset is one embedded file, ready to serve.
type dashboardAsset struct {
	body  []byte
	ctype string
	etag  string
}

// dashboardTypes are the content types of the files the dashboard is made of; a file of
// another kind in server/dashboard/ is not served.
var dashboardTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// dashboardAssets are the embedded files by name, read once at start.
var dashboardAssets = func() map[string]dashboardAsset {
	out := map[string]dashboardAsset{}
	entries, err := fs.ReadDir(dashboardFiles, "dashboard")
	if err != nil {
		panic("server: the embedded dashboard cannot be read: " + err.Error()) // a build fault
	}
	for _, e := range entries {
		ctype, ok := dashboardTypes[path.Ext(e.Name())]
		if e.IsDir() || !ok {
			continue
		}
		b, err := dashboardFiles.ReadFile("dashboard/" + e.Name())
		if err != nil {
			panic("server: the embedded dashboard cannot be read: " + err.Error())
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = dashboardAsset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return out
}()

// dashboardCSP allows the page its own files and its own host only. Trusted Types with no
// policy make the browser refuse any HTML string given to innerHTML and its kin: the script
// builds every element and puts the API's text in with textContent.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"

// dashboard answers GET /performance/dashboard: the page. It is served without an API key;
// the data it polls is behind the keys.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	serveDashboardAsset(w, r, "dashboard.html")
}

// dashboardFile answers GET /performance/dashboard/{file}: the page's script, style sheet
// and icon.
func (s *Server) dashboardFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "dashboard.html" { // the page has one address
		name = ""
	}
	serveDashboardAsset(w, r, name)
}

// serveDashboardAsset writes the embedded file name with the dashboard's headers. Every
// answer is revalidated (no-cache with an ETag of the content: a 304 costs a round trip, and a
// new binary's page never runs an old script).
func serveDashboardAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := dashboardAssets[name]
	if !ok {
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "no dashboard file %q", truncate(name, 64)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
