package httpapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
)

// requireBadField asserts a 400 problem naming field.
func requireBadField(t *testing.T, err error, field string) {
	t.Helper()
	requireStatus(t, err, 400)
	var se *api.ErrorStatusCode
	require.True(t, errors.As(err, &se))
	require.NotEmpty(t, se.Response.Errors, "problem: %+v", se.Response)
	require.Equal(t, field, se.Response.Errors[0].Field, "problem: %+v", se.Response)
}

// TestInvalidText: NUL and invalid UTF-8 in any string of a request are
// refused with 400 on both databases (PostgreSQL used to answer 500), for
// query parameters, path segments and JSON bodies, raw or escaped.
func TestInvalidText(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		base := bu.env.Server.URL + "/api/v1"
		t.Run("ErrClient", func(t *testing.T) {
			_, err := a.ListDocuments(ctx, api.ListDocumentsParams{Q: api.NewOptString("\x00")})
			requireBadField(t, err, "q")
			_, err = a.ListDocuments(ctx, api.ListDocumentsParams{Q: api.NewOptString("\xff\xfe")})
			requireBadField(t, err, "q")
			_, err = a.CreateDocument(ctx, &api.DocumentCreate{Title: "a\u0000b", Content: "x"})
			requireBadField(t, err, "title")
			_, err = a.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("a\x00b")})
			requireBadField(t, err, "title")
			_, err = a.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hi\x00"},
				api.AppendMessageParams{ConversationId: bu.convA.ID})
			requireBadField(t, err, "content")
			_, err = a.CreateAgent(ctx, &api.AgentCreate{Name: "Editor", Model: "echo-1", Instructions: api.NewOptString("\x00")})
			requireBadField(t, err, "instructions")
		})
		cases := []struct {
			name, method, url, body, field string
		}{
			{"ErrQueryNUL", "GET", base + "/documents?q=%00", "", "q"},
			{"ErrQueryInvalidUTF8", "GET", base + "/documents?q=%ff%fe", "", "q"},
			{"ErrQueryRawInvalidUTF8", "GET", base + "/documents?q=\xff", "", "q"},
			{"ErrQueryName", "GET", base + "/documents?%00=x", "", "query"},
			{"ErrPathNUL", "GET", base + "/documents/%00", "", "path"},
			{"ErrPathInvalidUTF8", "GET", base + "/documents/%ff%fe", "", "path"},
			{"ErrBodyEscapedNUL", "POST", base + "/documents", `{"title":"a\u0000b","content":"x"}`, "title"},
			{"ErrBodyRawNUL", "POST", base + "/documents", "{\"title\":\"a\x00b\",\"content\":\"x\"}", "title"},
			{"ErrBodyInvalidUTF8", "POST", base + "/documents", "{\"title\":\"\xff\xfe\",\"content\":\"x\"}", "title"},
			{"ErrBodyTruncatedUTF8", "POST", base + "/documents", "{\"content\":\"x\",\"title\":\"\xe6\x97\"}", "title"},
			{"ErrBodySurrogateUTF8", "POST", base + "/documents", "{\"title\":\"\xed\xa0\x80\",\"content\":\"x\"}", "title"},
			{"ErrBodyNestedArray", "POST", base + "/documents", `{"title":"t","content":"x","tags":["ok","\u0000"]}`, "tags"},
			{"ErrBodyMemberName", "POST", base + "/documents", `{"ti\u0000tle":"t","content":"x"}`, "body"},
			{"ErrConversationTitle", "POST", base + "/conversations", `{"title":"\u0000"}`, "title"},
			{"ErrMessageContent", "POST", base + "/conversations/" + bu.convA.ID.String() + "/messages",
				"{\"role\":\"user\",\"content\":\"\xc3\x28\"}", "content"},
			{"ErrAgentInstructions", "POST", base + "/agents", `{"name":"x","model":"echo-1","instructions":"\u0000"}`, "instructions"},
			{"ErrProblemJSONContentType", "POST", base + "/conversations", `{"title":"\u0000"}`, "title"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+bu.a.Token)
				if tc.body != "" {
					req.Header.Set("Content-Type", "application/json; charset=utf-8")
				}
				res, err := bu.env.Server.Client().Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				require.Equal(t, 400, res.StatusCode, "body: %s", body)
				require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
				var p struct {
					Status    int    `json:"status"`
					RequestID string `json:"request_id"`
					Errors    []struct {
						Field string `json:"field"`
					} `json:"errors"`
				}
				require.NoError(t, json.Unmarshal(body, &p), "body: %s", body)
				require.Equal(t, 400, p.Status)
				require.NotEmpty(t, p.RequestID)
				require.NotEmpty(t, p.Errors, "body: %s", body)
				require.Equal(t, tc.field, p.Errors[0].Field, "body: %s", body)
			})
		}
		t.Run("OK", func(t *testing.T) {
			// Multi-byte text, and text that merely looks like an escape,
			// pass untouched.
			title := "naïve 日本語 🎉 \\u0000 \u00ff"
			d, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: title, Content: "x", Tags: []string{"ä"}})
			require.NoError(t, err)
			require.Equal(t, title, d.Title)
			p, err := a.ListDocuments(ctx, api.ListDocumentsParams{Q: api.NewOptString("日本語")})
			require.NoError(t, err)
			require.Len(t, p.Items, 1)
			res, err := bu.env.Server.Client().Do(mustReq(t, "POST", base+"/documents", bu.a.Token,
				`{"title":"\\u0000 \u00e9","content":"x"}`))
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, 201, res.StatusCode)
		})
	})
}
