package document_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	entdoc "atrium/ent/document"
	"atrium/ent/share"
	"atrium/internal/authz"
	"atrium/internal/document"
	"atrium/internal/fault"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// maxContent is the content limit the tests' service has, in bytes.
const maxContent = 100

type env struct {
	*testkit.Resources
	svc *document.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	r := testkit.NewResources(t)
	return &env{Resources: r, svc: document.NewService(r.Client, r.DB.Dialect, r.Audit, r.Access, maxContent)}
}

func ptr[T any](v T) *T { return &v }

func valid() document.Input { return document.Input{Title: ptr("Notes"), Content: ptr("some text")} }

func ids(p []*ent.Document) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(p))
	for _, d := range p {
		out = append(out, d.ID)
	}
	return out
}

func TestDocument(t *testing.T) {
	t.Parallel()

	t.Run("OKLifecycleAudited", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		in := valid()
		in.Title, in.Tags, in.Metadata = ptr(" Notes "), &[]string{"a", "b"}, map[string]string{"k": "v"}
		d, err := e.svc.Create(ctx, in)
		require.NoError(t, err)
		require.Equal(t, "Notes", d.Title, "the title is trimmed")
		require.Equal(t, entdoc.ContentTypeMarkdown, d.ContentType, "markdown by default")
		md := entdoc.ContentTypePlain
		d, err = e.svc.Update(ctx, d.ID, document.Input{Tags: &[]string{"c"}, ContentType: &md})
		require.NoError(t, err)
		require.Equal(t, []string{"c"}, d.Tags, "tags are replaced")
		require.Equal(t, map[string]string{"k": "v"}, d.Metadata, "nil metadata stays")
		require.Equal(t, "some text", d.Content)
		require.Equal(t, md, d.ContentType)
		require.NoError(t, e.svc.Delete(ctx, d.ID))
		_, err = e.svc.Get(ctx, d.ID)
		testkit.RequireCode(t, err, fault.NotFound)
		require.Equal(t, []string{document.ActionCreated, document.ActionUpdated, document.ActionDeleted}, e.Actions(d.ID))
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		tags := make([]string, document.MaxTags+1)
		for i := range tags {
			tags[i] = "t"
		}
		md := map[string]string{}
		for i := range 51 {
			md[strings.Repeat("k", i+1)] = "v"
		}
		for _, tc := range []struct {
			field string
			edit  func(*document.Input)
		}{
			{"title", func(in *document.Input) { in.Title = nil }},
			{"title", func(in *document.Input) { in.Content = nil }},
			{"title", func(in *document.Input) { in.Title = ptr(" \t") }},
			{"title", func(in *document.Input) { in.Title = ptr(strings.Repeat("é", document.MaxTitle+1)) }},
			{"content", func(in *document.Input) { in.Content = ptr(strings.Repeat("c", maxContent+1)) }},
			{"content", func(in *document.Input) { in.Content = ptr(strings.Repeat("é", maxContent/2+1)) }},
			{"content_type", func(in *document.Input) { in.ContentType = ptr(entdoc.ContentType("text/html")) }},
			{"tags", func(in *document.Input) { in.Tags = &tags }},
			{"tags", func(in *document.Input) { in.Tags = &[]string{"ok", ""} }},
			{"tags", func(in *document.Input) { in.Tags = &[]string{strings.Repeat("t", document.MaxTag+1)} }},
			{"metadata", func(in *document.Input) { in.Metadata = md }},
		} {
			in := valid()
			tc.edit(&in)
			_, err := e.svc.Create(ctx, in)
			testkit.RequireField(t, err, tc.field)
		}
		p, err := e.svc.List(ctx, document.ListInput{})
		require.NoError(t, err)
		require.Empty(t, p.Items, "a refused create stored nothing")
	})

	t.Run("OKLimits", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		// Titles and tags count characters (the API's maxLength); content
		// counts bytes (ATRIUM_DOCUMENT_MAX_BYTES).
		d, err := e.svc.Create(e.As(), document.Input{Title: ptr(strings.Repeat("é", document.MaxTitle)),
			Content: ptr(strings.Repeat("é", maxContent/2)), Tags: &[]string{strings.Repeat("é", document.MaxTag)}})
		require.NoError(t, err)
		require.Len(t, d.Content, maxContent)
	})

	t.Run("ErrInvalidUpdateChangesNothing", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		d, err := e.svc.Create(ctx, valid())
		require.NoError(t, err)
		_, err = e.svc.Update(ctx, d.ID, document.Input{Title: ptr(""), Content: ptr("new")})
		testkit.RequireField(t, err, "title")
		got, err := e.svc.Get(ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, "some text", got.Content)
		require.Equal(t, []string{document.ActionCreated}, e.Actions(d.ID))
	})

	t.Run("OKListFilters", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		mk := func(title, content string, tags ...string) uuid.UUID {
			d, err := e.svc.Create(ctx, document.Input{Title: &title, Content: &content, Tags: &tags})
			require.NoError(t, err)
			return d.ID
		}
		plan := mk("Release plan", "ship in May", "ops", "plan")
		notes := mk("Notes", "the PLAN changed", "ops")
		other := mk("Other", "nothing", "misc")
		_, err := e.svc.Create(e.As(), document.Input{Title: ptr("plan of someone else"), Content: ptr("plan")})
		require.NoError(t, err)

		list := func(in document.ListInput) []uuid.UUID {
			p, err := e.svc.List(ctx, in)
			require.NoError(t, err)
			return ids(p.Items)
		}
		require.Equal(t, []uuid.UUID{other, notes, plan}, list(document.ListInput{}), "only the caller's, newest first")
		require.Equal(t, []uuid.UUID{notes, plan}, list(document.ListInput{Tag: "ops"}))
		require.Equal(t, []uuid.UUID{plan}, list(document.ListInput{Tag: "plan"}), "a tag matches whole tags")
		require.Empty(t, list(document.ListInput{Tag: "op"}))
		require.Equal(t, []uuid.UUID{notes, plan}, list(document.ListInput{Query: "plan"}), "title or content, any case")
		require.Equal(t, []uuid.UUID{notes}, list(document.ListInput{Query: "plan", Tag: "ops", Limit: 1}))
	})

	t.Run("ErrListInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		for _, in := range []document.ListInput{
			{Query: strings.Repeat("q", 201)}, {Tag: strings.Repeat("t", document.MaxTag+1)},
		} {
			_, err := e.svc.List(e.As(), in)
			testkit.RequireField(t, err, "q")
		}
		_, err := e.svc.List(e.As(), document.ListInput{Query: strings.Repeat("é", 200), Tag: strings.Repeat("é", document.MaxTag)})
		require.NoError(t, err, "characters, not bytes")
		_, err = e.svc.List(e.As(), document.ListInput{Cursor: "nope"})
		testkit.RequireField(t, err, "cursor")
	})

	t.Run("OKShareLevels", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		d, err := e.svc.Create(e.As(), valid())
		require.NoError(t, err)
		reader := e.Share(authz.Document, d.ID, share.LevelViewer)
		p, err := e.svc.List(reader, document.ListInput{Query: "text"})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{d.ID}, ids(p.Items), "search finds what is shared")
		_, err = e.svc.Update(reader, d.ID, document.Input{Content: ptr("mine now")})
		testkit.RequireCode(t, err, fault.Forbidden)
		editor := e.Share(authz.Document, d.ID, share.LevelEditor)
		_, err = e.svc.Update(editor, d.ID, document.Input{Content: ptr("edited")})
		require.NoError(t, err)
		testkit.RequireCode(t, e.svc.Delete(editor, d.ID), fault.Forbidden)
	})

	t.Run("ErrOtherTenant", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		d, err := e.svc.Create(e.As(), valid())
		require.NoError(t, err)
		admin := e.AsUser(e.NewTenant(), uuid.New(), nil, authz.DocumentManage)
		_, err = e.svc.Update(admin, d.ID, document.Input{Content: ptr("x")})
		testkit.RequireCode(t, err, fault.NotFound)
		p, err := e.svc.List(admin, document.ListInput{Query: "text"})
		require.NoError(t, err)
		require.Empty(t, p.Items)
	})
}
