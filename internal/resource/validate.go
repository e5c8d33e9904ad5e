package resource

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"atrium/internal/fault"
)

// Name appends to fs a problem with v, if it is set and blank or longer than
// max characters: the rule of resources' names and titles.
func Name(fs []fault.FieldError, field string, v *string, max int) []fault.FieldError {
	if v != nil && (strings.TrimSpace(*v) == "" || utf8.RuneCountInString(*v) > max) {
		fs = append(fs, fault.FieldError{Field: field, Message: fmt.Sprintf("1 to %d characters", max)})
	}
	return fs
}

// Text appends to fs a problem with v, if it is set and longer than max
// characters.
func Text(fs []fault.FieldError, field string, v *string, max int) []fault.FieldError {
	if v != nil && utf8.RuneCountInString(*v) > max {
		fs = append(fs, fault.FieldError{Field: field, Message: fmt.Sprintf("at most %d characters", max)})
	}
	return fs
}
