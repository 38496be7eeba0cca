package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/domain"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
)

// plain stands in for argon2id: the domain only needs some stored form.
func plain(password string) (string, error) { return "hash:" + password, nil }

func valid() identityapi.RegisterInput {
	return identityapi.RegisterInput{Email: "ada@example.com", Password: "correct horse", Name: "Ada Lovelace"}
}

// requireInvalid fails unless err is identity.invalid_user naming exactly field.
func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || !errors.Is(err, identityapi.ErrInvalidUser) || len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("want an invalid %s, got %v", field, err)
	}
}

func TestEmailRules(t *testing.T) {
	t.Parallel()
	local64 := strings.Repeat("a", 64)
	for name, tc := range map[string]struct {
		email string
		want  string // the normalised email; "" = invalid
	}{
		"plain":                {"ada@example.com", "ada@example.com"},
		"upper case":           {"Ada@Example.COM", "ada@example.com"},
		"padded":               {"  ada@example.com\t\n", "ada@example.com"},
		"plus and subdomain":   {"ada+shop@mail.example.co.uk", "ada+shop@mail.example.co.uk"},
		"unicode":              {"zoë@exämple.de", "zoë@exämple.de"},
		"254 bytes":            {local64 + "@" + strings.Repeat("b", 185) + ".com", local64 + "@" + strings.Repeat("b", 185) + ".com"},
		"255 bytes":            {local64 + "@" + strings.Repeat("b", 186) + ".com", ""},
		"empty":                {"", ""},
		"only spaces":          {"   ", ""},
		"no at":                {"ada.example.com", ""},
		"two ats":              {"ada@lovelace@example.com", ""},
		"nothing before at":    {"@example.com", ""},
		"no dot in domain":     {"ada@localhost", ""},
		"domain ends with dot": {"ada@example.", ""},
		"domain starts dot":    {"ada@.example.com", ""},
		"empty label":          {"ada@example..com", ""},
		"inner space":          {"ada lovelace@example.com", ""},
		"inner tab":            {"ada\t@example.com", ""},
		"control character":    {"ada\x00@example.com", ""},
		"invalid UTF-8":        {"ada\xff@example.com", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := valid()
			in.Email = tc.email
			u, err := domain.NewUser(uuid.New(), in, auth.Customer, plain)
			if tc.want == "" {
				requireInvalid(t, err, "email")
				return
			}
			if err != nil || u.Snapshot().Email != tc.want {
				t.Fatalf("got %v, %+v; want %q", err, u, tc.want)
			}
		})
	}
}

func TestNameRules(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		name string
		want string // the stored name; "" = invalid
	}{
		"plain":             {"Ada Lovelace", "Ada Lovelace"},
		"one character":     {"A", "A"},
		"trimmed":           {"  Ada \n", "Ada"},
		"100 runes":         {strings.Repeat("é", 100), strings.Repeat("é", 100)},
		"100 after trim":    {" " + strings.Repeat("x", 100) + " ", strings.Repeat("x", 100)},
		"101 runes":         {strings.Repeat("é", 101), ""},
		"empty":             {"", ""},
		"only spaces":       {" \t ", ""},
		"inner newline":     {"Ada\nLovelace", ""},
		"control character": {"Ada\x07", ""},
		"invalid UTF-8":     {"Ada\xff", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := valid()
			in.Name = tc.name
			u, err := domain.NewUser(uuid.New(), in, auth.Customer, plain)
			if tc.want == "" {
				requireInvalid(t, err, "name")
				return
			}
			if err != nil || u.Snapshot().Name != tc.want {
				t.Fatalf("got %v, %+v; want %q", err, u, tc.want)
			}
		})
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		password string
		ok       bool
	}{
		"10 characters":         {"abcdefghij", true},
		"128 characters":        {strings.Repeat("ab", 64), true},
		"10 runes, 20 bytes":    {strings.Repeat("é", 9) + "a", true},
		"spaces kept":           {"  padded password  ", true},
		"two characters":        {"ababababab", true},
		"email with extra":      {"ada@example.com1", true},
		"9 characters":          {"abcdefghi", false},
		"9 runes, 18 bytes":     {strings.Repeat("é", 9), false},
		"129 characters":        {strings.Repeat("ab", 64) + "c", false},
		"empty":                 {"", false},
		"one character":         {"aaaaaaaaaaaa", false},
		"one rune":              {strings.Repeat("ü", 12), false},
		"one space":             {strings.Repeat(" ", 12), false},
		"the email":             {"ada@example.com", false},
		"the email, upper case": {"ADA@example.com", false},
		"the email, padded":     {" ada@example.com ", false},
		"invalid UTF-8":         {"abcdefghij\xff", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := valid()
			in.Password = tc.password
			u, err := domain.NewUser(uuid.New(), in, auth.Customer, plain)
			if !tc.ok {
				requireInvalid(t, err, "password")
				if err := domain.CheckPassword(tc.password, "ada@example.com"); err == nil {
					t.Fatal("CheckPassword accepts what NewUser refuses")
				}
				return
			}
			if err != nil || u.PasswordHash() != "hash:"+tc.password {
				t.Fatalf("got %v, %+v", err, u)
			}
		})
	}
}

// Every failing field is reported at once, the password never hashed, and
// no message repeats the input.
func TestNewUserReportsEveryFieldWithoutHashing(t *testing.T) {
	t.Parallel()
	hashed := false
	in := identityapi.RegisterInput{Email: "secret-email", Password: "short", Name: ""}
	_, err := domain.NewUser(uuid.New(), in, auth.Role("root"), func(string) (string, error) { hashed = true; return "", nil })
	var e *apperr.Error
	if !errors.As(err, &e) || !errors.Is(err, identityapi.ErrInvalidUser) || len(e.Fields) != 4 || hashed {
		t.Fatalf("got %v (hashed %v)", err, hashed)
	}
	if strings.Contains(err.Error(), "secret-email") || strings.Contains(err.Error(), "short") {
		t.Fatalf("the error repeats the input: %v", err)
	}
}

// CheckNewUser refuses what NewUser refuses, with the same error.
func TestCheckNewUserIsNewUserWithoutTheHash(t *testing.T) {
	t.Parallel()
	bad := identityapi.RegisterInput{Email: "secret-email", Password: "short", Name: ""}
	_, want := domain.NewUser(uuid.New(), bad, auth.Role("root"), plain)
	if err := domain.CheckNewUser(bad, auth.Role("root")); err == nil || err.Error() != want.Error() {
		t.Fatalf("got %v, want %v", err, want)
	}
	if err := domain.CheckNewUser(valid(), auth.Admin); err != nil {
		t.Fatal(err)
	}
}

func TestNewUserPassesOnHashFailure(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	if _, err := domain.NewUser(uuid.New(), valid(), auth.Customer, func(string) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

func TestNewUserSnapshotAndEvent(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	in := valid()
	in.Email = " Ada@Example.com"
	u, err := domain.NewUser(id, in, auth.Customer, plain)
	if err != nil {
		t.Fatal(err)
	}
	want := identityapi.User{ID: id, Email: "ada@example.com", Name: "Ada Lovelace", Role: auth.Customer}
	if u.Snapshot() != want {
		t.Fatalf("snapshot %+v", u.Snapshot())
	}
	ev := u.Registered()
	if ev != (identityapi.UserRegisteredV1{UserID: id, Email: want.Email, Name: want.Name, Role: auth.Customer}) || ev.AggregateID() != id.String() {
		t.Fatalf("event %+v", ev)
	}
	if p := u.Principal(); p.UserID != id || p.Role != auth.Customer {
		t.Fatalf("principal %+v", p)
	}
}

func TestMakeAdminAndSetPassword(t *testing.T) {
	t.Parallel()
	u, err := domain.NewUser(uuid.New(), valid(), auth.Customer, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !u.MakeAdmin() || u.Snapshot().Role != auth.Admin || u.MakeAdmin() {
		t.Fatalf("MakeAdmin: %+v", u.Snapshot())
	}
	if err := u.SetPassword("ada@example.com", plain); err == nil || u.PasswordHash() != "hash:correct horse" {
		t.Fatalf("the email as password: %v, %q", err, u.PasswordHash())
	}
	if err := u.SetPassword("battery staple", plain); err != nil || u.PasswordHash() != "hash:battery staple" {
		t.Fatalf("SetPassword: %v, %q", err, u.PasswordHash())
	}
}
