package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// SetupStatus tells the console whether first-run setup is pending.
func (h *Handler) SetupStatus(c *gin.Context) {
	pending, err := h.Svc.Setup.Pending(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"pending": pending})
}

type setupRequest struct {
	Token       string `json:"token"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
}

func (r *setupRequest) Validate() error {
	f := problem.Fields{}
	if r.Token == "" {
		f.Add("token", "is required")
	}
	if r.Username == "" {
		f.Add("username", "is required")
	}
	if r.Password == "" {
		f.Add("password", "is required")
	}
	return f.Err()
}

// Setup creates the first super administrator.
func (h *Handler) Setup(c *gin.Context) {
	var req setupRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	u, err := h.Svc.Setup.Complete(c.Request.Context(), middleware.ActorOf(c), req.Token, service.NewUser{
		Username: req.Username, Password: req.Password, Email: req.Email, DisplayName: req.DisplayName,
	})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"user": NewUser(u, h.Svc.Now())})
}
