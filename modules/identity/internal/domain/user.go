// Package domain holds identity's rules: what a valid account is, what a
// password must be, and how an account changes.
package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
)

// Limits of an account's fields.
const (
	MaxEmailLen    = 254 // bytes: the longest address SMTP can deliver to (RFC 5321)
	MaxNameLen     = 100 // characters
	MinPasswordLen = 10  // characters
	MaxPasswordLen = 128 // characters
)

// Hasher turns a password that passed the policy into the form that is
// stored. The domain never stores or keeps a password itself.
type Hasher func(password string) (string, error)

// User is identity's aggregate: one account. Its fields are unexported and
// change only through its methods.
type User struct {
	id           uuid.UUID
	email        string
	name         string
	role         auth.Role
	passwordHash string
}

// NewUser validates in and returns a new account with id and role. The
// email and the name are normalised first (see NormalizeEmail); the password
// is hashed with hash only once every rule holds, so invalid input costs no
// hashing. Every failing field is listed in the error.
func NewUser(id uuid.UUID, in identityapi.RegisterInput, role auth.Role, hash Hasher) (*User, error) {
	email, name, err := checkNew(in, role)
	if err != nil {
		return nil, err
	}
	h, err := hash(in.Password)
	if err != nil {
		return nil, err
	}
	return &User{id: id, email: email, name: name, role: role, passwordHash: h}, nil
}

// CheckNewUser returns the error NewUser would for in and role, or nil,
// without hashing the password.
func CheckNewUser(in identityapi.RegisterInput, role auth.Role) error {
	_, _, err := checkNew(in, role)
	return err
}

// checkNew validates in and role and returns the normalised email and name.
func checkNew(in identityapi.RegisterInput, role auth.Role) (email, name string, err error) {
	email, name = NormalizeEmail(in.Email), strings.TrimSpace(in.Name)
	var v apperr.Validator
	// Lower-casing turns invalid UTF-8 into U+FFFD, so the raw input is checked too.
	v.Check(utf8.ValidString(in.Email) && ValidEmail(email), "email", "a valid email address of at most 254 bytes, such as ada@example.com")
	v.Check(validName(name), "name", "required, 1-100 characters, no control characters")
	if msg := passwordProblem(in.Password, email); msg != "" {
		v.Check(false, "password", msg)
	}
	v.Check(role.Valid(), "role", "customer or admin")
	return email, name, v.Err(identityapi.ErrInvalidUser.Code)
}

// Rehydrate rebuilds a stored account. Only storage adapters call it.
func Rehydrate(u identityapi.User, passwordHash string) *User {
	return &User{id: u.ID, email: u.Email, name: u.Name, role: u.Role, passwordHash: passwordHash}
}

// Snapshot returns the account as other modules see it, without credentials.
func (u *User) Snapshot() identityapi.User {
	return identityapi.User{ID: u.id, Email: u.email, Name: u.name, Role: u.role}
}

// PasswordHash returns the stored form of the password, for storage and for
// checking a login.
func (u *User) PasswordHash() string { return u.passwordHash }

// Principal is the caller a token issued to this account stands for.
func (u *User) Principal() auth.Principal { return auth.Principal{UserID: u.id, Role: u.role} }

// Registered is the event of a new account.
func (u *User) Registered() identityapi.UserRegisteredV1 {
	return identityapi.UserRegisteredV1{UserID: u.id, Email: u.email, Name: u.name, Role: u.role}
}

// Rename sets the user's name (trimmed) and reports whether it changed.
func (u *User) Rename(name string) (bool, error) {
	name = strings.TrimSpace(name)
	if !validName(name) {
		return false, apperr.Invalid(identityapi.ErrInvalidUser.Code,
			apperr.FieldError{Field: "name", Message: fmt.Sprintf("1 to %d characters, no control characters", MaxNameLen)})
	}
	if name == u.name {
		return false, nil
	}
	u.name = name
	return true, nil
}

// Updated is the event of a changed profile.
func (u *User) Updated() identityapi.UserUpdatedV1 {
	return identityapi.UserUpdatedV1{UserID: u.id, Email: u.email, Name: u.name}
}

// MakeAdmin gives the account the admin role and reports whether it lacked it.
func (u *User) MakeAdmin() bool {
	if u.role == auth.Admin {
		return false
	}
	u.role = auth.Admin
	return true
}

// SetPassword checks password against the policy and stores its hash.
func (u *User) SetPassword(password string, hash Hasher) error {
	if err := CheckPassword(password, u.email); err != nil {
		return err
	}
	h, err := hash(password)
	if err != nil {
		return err
	}
	u.passwordHash = h
	return nil
}

// NormalizeEmail returns the form an email is stored and looked up in:
// without surrounding white space, in lower case. Two addresses that differ
// only in case are one account.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidEmail reports whether email, already normalised, is acceptable: valid
// UTF-8 of at most MaxEmailLen bytes, exactly one @ with text before it, a
// domain of at least two non-empty dot-separated labels, and no white space
// or control characters anywhere. It does not check that mail can be
// delivered there.
func ValidEmail(email string) bool {
	if email == "" || len(email) > MaxEmailLen || !utf8.ValidString(email) || strings.Count(email, "@") != 1 {
		return false
	}
	if strings.ContainsFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return false
	}
	local, domain, _ := strings.Cut(email, "@")
	if local == "" || !strings.Contains(domain, ".") {
		return false
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return false
		}
	}
	return true
}

// CheckPassword returns an identity.invalid_user error naming the field
// password when password breaks the policy for the account of email
// (normalised): MinPasswordLen to MaxPasswordLen characters, not one
// character repeated, not the email address itself.
func CheckPassword(password, email string) error {
	if msg := passwordProblem(password, email); msg != "" {
		return apperr.Invalid(identityapi.ErrInvalidUser.Code, apperr.FieldError{Field: "password", Message: msg})
	}
	return nil
}

// passwordProblem says what is wrong with password, or "" if nothing is.
// The password is taken as sent: it is never trimmed or case-folded, but it
// is compared with the email in normalised form so "Ada@Example.com " does
// not pass for ada@example.com's password.
func passwordProblem(password, email string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password) || n < MinPasswordLen || n > MaxPasswordLen:
		return "10-128 characters"
	case oneRepeated(password):
		return "must not be one character repeated"
	case NormalizeEmail(password) == email:
		return "must not be the email address"
	}
	return ""
}

// oneRepeated reports whether s, not empty, is one character over and over.
func oneRepeated(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	return strings.Trim(s, string(first)) == ""
}

func validName(name string) bool {
	n := utf8.RuneCountInString(name)
	return utf8.ValidString(name) && n >= 1 && n <= MaxNameLen && !strings.ContainsFunc(name, unicode.IsControl)
}
