package server

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
)

const consoleNotBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;line-height:1.5">
<h1>Gatehouse is running</h1><p>The admin console was not built into this binary.
Build it with <code>make build</code> (or <code>make run</code>), or use the JSON API under <code>/api/</code>.</p></body></html>`

// spa serves the embedded console: files as they are (hashed assets cached
// for a year), index.html for every other path so that client-side routes
// survive a reload, and a JSON 404 for unknown API paths.
func spa(console fs.FS) gin.HandlerFunc {
	index, err := fs.ReadFile(console, "index.html")
	if err != nil {
		index = nil
	}
	files := http.FS(console)
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if p == "/api" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/oauth/") {
			httpx.Render(c, httpx.ErrNotFound)
			return
		}
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			httpx.Render(c, httpx.ErrNotFound)
			return
		}
		if index == nil {
			c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(consoleNotBuilt))
			return
		}
		name := strings.TrimPrefix(path.Clean(p), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(console, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					c.Header("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					c.Header("Cache-Control", "no-cache")
				}
				c.FileFromFS(name, files)
				return
			}
			if strings.HasPrefix(name, "assets/") {
				c.Data(http.StatusNotFound, "text/plain; charset=utf-8", []byte("not found"))
				return
			}
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	}
}
