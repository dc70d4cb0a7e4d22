package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// getRaw fetches path from e without an API key, with the headers given as name, value pairs.
func (e *env) getRaw(path string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// The page and every file it loads are served without a key, each with its content type, a
// revalidating Cache-Control with an ETag (answered 304 when it matches), and a
// Content-Security-Policy that allows this host only; an unknown file is a JSON 404.
func TestDashboardServesPageAndAssets(t *testing.T) {
	e := newEnv(t, envOpts{key: "secret"})
	resp, page := e.getRaw("/performance/dashboard")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /performance/dashboard without a key: %d %s", resp.StatusCode, page)
	}
	checkDashboardHeaders(t, "page", resp, "text/html; charset=utf-8")
	refs := dashboardRefs(t, page)
	want := []string{"dashboard/dashboard.css", "dashboard/dashboard.js", "dashboard/icon.svg"}
	if !slices.Equal(refs, want) {
		t.Errorf("the page loads %q, want %q", refs, want)
	}
	base, _ := url.Parse(e.http.URL + "/performance/dashboard")
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, ref := range refs {
		u, err := base.Parse(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.Path, "/performance/dashboard/") {
			t.Errorf("%s resolves to %s, outside the dashboard's routes", ref, u.Path)
		}
		resp, body := e.getRaw(u.Path)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", u.Path, resp.StatusCode, len(body))
			continue
		}
		checkDashboardHeaders(t, u.Path, resp, types[path.Ext(u.Path)])
		if !bytes.Equal(body, dashboardAssets[path.Base(u.Path)].body) {
			t.Errorf("GET %s is not the embedded file", u.Path)
		}
		again, body := e.getRaw(u.Path, "If-None-Match", resp.Header.Get("ETag"))
		if again.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes; want 304", u.Path, again.StatusCode, len(body))
		}
	}
	for _, p := range []string{"/performance/dashboard/nope.js", "/performance/dashboard/dashboard.html", "/performance/dashboard/..%2fserver.go"} {
		resp, body := e.getRaw(p)
		var eb errorBody
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(body, &eb) != nil || eb.Code != CodeNotFound {
			t.Errorf("GET %s: %d %s; want a JSON 404", p, resp.StatusCode, body)
		}
	}
	if resp, _ := e.getRaw("/api/performance/metrics"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the page is open, but the metrics it polls must stay behind the key: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.http.URL+"/performance/dashboard", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /performance/dashboard: %v %v; want 405", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func checkDashboardHeaders(t *testing.T, what string, resp *http.Response, ctype string) {
	t.Helper()
	h := resp.Header
	if got := h.Get("Content-Type"); got != ctype {
		t.Errorf("%s: Content-Type %q, want %q", what, got, ctype)
	}
	if got := h.Get("Cache-Control"); got != "no-cache" || h.Get("ETag") == "" {
		t.Errorf("%s: Cache-Control %q, ETag %q: want no-cache (revalidate) with an ETag", what, got, h.Get("ETag"))
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no X-Content-Type-Options: nosniff", what)
	}
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if directives["default-src"] != "'self'" {
		t.Errorf("%s: CSP %q: want default-src 'self'", what, csp)
	}
	for name, value := range directives {
		for _, src := range strings.Fields(value) {
			if strings.Contains(src, ".") || strings.Contains(src, ":") || src == "*" || src == "'unsafe-inline'" || src == "'unsafe-eval'" {
				t.Errorf("%s: CSP %s allows %s", what, name, src)
			}
		}
	}
	if !strings.Contains(csp, "require-trusted-types-for 'script'") {
		t.Errorf("%s: CSP %q does not require Trusted Types: an HTML string could reach innerHTML", what, csp)
	}
}

// dashboardRefs checks that page is well-formed HTML (a doctype, every element closed in
// order, no inline script, style or event handler, ids unique) and returns the files it
// loads, sorted.
func dashboardRefs(t *testing.T, page []byte) []string {
	t.Helper()
	void := map[atom.Atom]bool{atom.Meta: true, atom.Link: true, atom.Input: true, atom.Br: true, atom.Img: true, atom.Hr: true}
	z := html.NewTokenizer(bytes.NewReader(page))
	var open []string
	var refs []string
	ids := map[string]bool{}
	doctype := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("page: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.DoctypeToken:
			doctype = strings.EqualFold(tok.Data, "html")
		case html.StartTagToken, html.SelfClosingTagToken:
			for _, a := range tok.Attr {
				switch {
				case a.Key == "src" || a.Key == "href":
					refs = append(refs, a.Val)
				case a.Key == "style" || strings.HasPrefix(a.Key, "on"):
					t.Errorf("page: <%s %s=...>: the CSP refuses inline styles and handlers", tok.Data, a.Key)
				case a.Key == "id":
					if ids[a.Val] {
						t.Errorf("page: id %q twice", a.Val)
					}
					ids[a.Val] = true
				}
			}
			if tok.DataAtom == atom.Style {
				t.Error("page: an inline <style>: the CSP refuses it")
			}
			if tok.DataAtom == atom.Script && !slices.ContainsFunc(tok.Attr, func(a html.Attribute) bool { return a.Key == "src" }) {
				t.Error("page: an inline <script>: the CSP refuses it")
			}
			if tt == html.StartTagToken && !void[tok.DataAtom] {
				open = append(open, tok.Data)
			}
		case html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				t.Fatalf("page: </%s> closes nothing open (open: %v)", tok.Data, open)
			}
			open = open[:len(open)-1]
		}
	}
	if !doctype {
		t.Error("page: no <!DOCTYPE html>")
	}
	if len(open) > 0 {
		t.Errorf("page: never closed: %v", open)
	}
	// Parsed by the HTML5 algorithm, the page has one html, head and body, and a title.
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	count := map[atom.Atom]int{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			count[n.DataAtom]++
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, a := range []atom.Atom{atom.Html, atom.Head, atom.Body, atom.Title} {
		if count[a] != 1 {
			t.Errorf("page: %d <%s>, want 1", count[a], a)
		}
	}
	// Every element the script looks up by id is on the page (kpi-count it makes itself).
	js := string(dashboardAssets["dashboard.js"].body)
	for _, m := range regexp.MustCompile(`(?:\$|setText)\("([\w-]+)"`).FindAllStringSubmatch(js, -1) {
		if !ids[m[1]] {
			t.Errorf("dashboard.js looks up #%s, which the page does not have", m[1])
		}
	}
	sort.Strings(refs)
	return refs
}

// No embedded file names another host: the page must work with no network beyond the
// service. The only URL allowed is the SVG namespace, a name no browser fetches.
func TestDashboardAssetsNameNoOtherHost(t *testing.T) {
	if len(dashboardAssets) < 4 {
		t.Fatalf("embedded files: %d, want the page, script, style sheet and icon", len(dashboardAssets))
	}
	scheme := regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'()<>]*`)
	protoRelative := regexp.MustCompile(`(?i)(?:["'(=]\s*)//[a-z0-9-]+\.[a-z]`)
	cssImport := regexp.MustCompile(`(?i)@import|url\(\s*["']?[^"')\s]*:`)
	for name, a := range dashboardAssets {
		text := string(a.body)
		for _, u := range scheme.FindAllString(text, -1) {
			if u != "http://www.w3.org/2000/svg" {
				t.Errorf("%s names %s", name, u)
			}
		}
		for _, m := range protoRelative.FindAllString(text, -1) {
			t.Errorf("%s has a protocol-relative URL: %s", name, m)
		}
		if strings.HasSuffix(name, ".css") && cssImport.MatchString(text) {
			t.Errorf("%s imports or loads a URL with a scheme: %s", name, cssImport.FindString(text))
		}
		if strings.HasSuffix(name, ".js") {
			for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
				if strings.Contains(text, sink) {
					t.Errorf("%s uses %s: text from the API must go in as text", name, sink)
				}
			}
		}
	}
}
