package audit

import "testing"

func TestQuoteLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"audit:global": "'audit:global'",
		"audit:0193a5e0-0000-7000-8000-000000000000": "'audit:0193a5e0-0000-7000-8000-000000000000'",
		"a'); DROP TABLE audit_events; --":           "'a''); DROP TABLE audit_events; --'",
	} {
		if got := quoteLiteral(in); got != want {
			t.Errorf("quoteLiteral(%q) = %q, want %q", in, got, want)
		}
	}
}
