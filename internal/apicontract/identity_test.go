package apicontract_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/platform/auth"
)

func TestIdentity(t *testing.T) {
	s := app(t)
	runSuite(t, s.local.identity, s.remote.identity, identityChecks(s))
}

// newAccount is a valid registration with a fresh email, spelled with
// white space and capitals the module must normalise away.
func newAccount() (in identityapi.RegisterInput, email, name string) {
	tag := unique()
	email, name = "contract."+tag+"@example.com", "Ada "+tag
	return identityapi.RegisterInput{
		Email:    "  Contract." + tag + "@Example.COM ",
		Password: "correct horse " + tag,
		Name:     "  " + name + "  ",
	}, email, name
}

func identityChecks(s *shop) []check[identityapi.API] {
	return []check[identityapi.API]{
		{name: "register_get_conflict", run: func(t T, api identityapi.API) {
			ctx := t.Context()
			in, email, name := newAccount()
			reg, err := api.Register(ctx, in)
			noErr(t, err, "Register")
			if reg.ID == uuid.Nil {
				t.Fatalf("Register returned the nil id")
			}
			u, err := api.GetUser(ctx, reg.ID)
			noErr(t, err, "GetUser")
			wantEqual(t, u, identityapi.User{ID: reg.ID, Email: email, Name: name, Role: auth.Customer}, "GetUser after Register")

			again := identityapi.RegisterInput{Email: strings.ToUpper(email), Password: "another password " + unique(), Name: "Someone Else"}
			got, err := api.Register(ctx, again)
			wantErr(t, err, identityapi.ErrEmailTaken, "Register of a taken email (other case)")
			if got.ID != uuid.Nil {
				t.Errorf("Register of a taken email returned id %s along with its error", got.ID)
			}
			u2, err := api.GetUser(ctx, reg.ID)
			noErr(t, err, "GetUser after the refused registration")
			wantEqual(t, u2, u, "the account after a refused registration of its email")
		}},
		{name: "register_invalid", run: func(t T, api identityapi.API) {
			ctx := t.Context()
			_, err := api.Register(ctx, identityapi.RegisterInput{})
			wantErr(t, err, identityapi.ErrInvalidUser, "Register of the zero input")
			wantFields(t, err, "Register of the zero input", "email", "name", "password")

			_, err = api.Register(ctx, identityapi.RegisterInput{Email: "not-an-email", Password: "short", Name: "a\x01b"})
			wantErr(t, err, identityapi.ErrInvalidUser, "Register of bad fields")
			wantFields(t, err, "Register of bad fields", "email", "name", "password")

			tag := unique()
			_, err = api.Register(ctx, identityapi.RegisterInput{Email: tag + "@example.com", Password: tag + "@EXAMPLE.com", Name: strings.Repeat("n", 101)})
			wantErr(t, err, identityapi.ErrInvalidUser, "Register with the email as password and a long name")
			wantFields(t, err, "Register with the email as password and a long name", "name", "password")

			_, err = api.Register(ctx, identityapi.RegisterInput{Email: tag + "@example.com", Password: strings.Repeat("x", 20), Name: "Ada"})
			wantErr(t, err, identityapi.ErrInvalidUser, "Register with one character repeated as password")
			wantFields(t, err, "Register with one character repeated as password", "password")
		}},
		{name: "login", run: func(t T, api identityapi.API) {
			ctx := t.Context()
			in, email, _ := newAccount()
			reg, err := api.Register(ctx, in)
			noErr(t, err, "Register")

			tok, err := api.Login(ctx, identityapi.LoginInput{Email: strings.ToUpper(email), Password: in.Password})
			noErr(t, err, "Login")
			if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 {
				t.Errorf("Login = %+v, want a Bearer token valid for 3600 s", tok)
			}
			p, err := s.tokens.Verify(ctx, tok.AccessToken)
			noErr(t, err, "verify the access token")
			wantEqual(t, p, auth.Principal{UserID: reg.ID, Role: auth.Customer}, "the token's principal")

			_, err = api.Login(ctx, identityapi.LoginInput{Email: email, Password: in.Password + "x"})
			wantErr(t, err, identityapi.ErrInvalidCredentials, "Login with a wrong password")
			_, err = api.Login(ctx, identityapi.LoginInput{Email: "nobody." + unique() + "@example.com", Password: in.Password})
			wantErr(t, err, identityapi.ErrInvalidCredentials, "Login of an unknown email")
			_, err = api.Login(ctx, identityapi.LoginInput{Email: "not an email", Password: in.Password})
			wantErr(t, err, identityapi.ErrInvalidCredentials, "Login of an invalid email")
			_, err = api.Login(ctx, identityapi.LoginInput{Email: email, Password: strings.Repeat("p", 129)})
			wantErr(t, err, identityapi.ErrInvalidCredentials, "Login with an over-long password")
			_, err = api.Login(ctx, identityapi.LoginInput{})
			wantErr(t, err, identityapi.ErrInvalidLogin, "Login with nothing")
			wantFields(t, err, "Login with nothing", "email", "password")
			_, err = api.Login(ctx, identityapi.LoginInput{Email: email})
			wantErr(t, err, identityapi.ErrInvalidLogin, "Login without a password")
			wantFields(t, err, "Login without a password", "password")
		}},
		{name: "update_profile", run: func(t T, api identityapi.API) {
			ctx := t.Context()
			in, email, _ := newAccount()
			reg, err := api.Register(ctx, in)
			noErr(t, err, "Register")
			want := identityapi.User{ID: reg.ID, Email: email, Name: "Grace " + unique(), Role: auth.Customer}

			u, err := api.UpdateProfile(ctx, reg.ID, identityapi.ProfileInput{Name: " " + want.Name + "\t"})
			noErr(t, err, "UpdateProfile")
			wantEqual(t, u, want, "UpdateProfile's answer")
			u, err = api.UpdateProfile(ctx, reg.ID, identityapi.ProfileInput{Name: want.Name})
			noErr(t, err, "UpdateProfile repeated")
			wantEqual(t, u, want, "UpdateProfile's answer when repeated")
			got, err := api.GetUser(ctx, reg.ID)
			noErr(t, err, "GetUser")
			wantEqual(t, got, want, "GetUser after UpdateProfile")

			for _, bad := range []string{"", "   ", strings.Repeat("n", 101), "new\nline"} {
				_, err = api.UpdateProfile(ctx, reg.ID, identityapi.ProfileInput{Name: bad})
				wantErr(t, err, identityapi.ErrInvalidUser, "UpdateProfile to "+strconv.Quote(bad))
				wantFields(t, err, "UpdateProfile to "+strconv.Quote(bad), "name")
			}
			got, err = api.GetUser(ctx, reg.ID)
			noErr(t, err, "GetUser after refused updates")
			wantEqual(t, got, want, "the account after refused updates")

			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil} {
				_, err = api.UpdateProfile(ctx, id, identityapi.ProfileInput{Name: "Nobody"})
				wantErr(t, err, identityapi.ErrUserNotFound, "UpdateProfile of user "+id.String())
			}
		}},
		{name: "get_unknown", run: func(t T, api identityapi.API) {
			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil, uuid.Max} {
				u, err := api.GetUser(t.Context(), id)
				wantErr(t, err, identityapi.ErrUserNotFound, "GetUser "+id.String())
				wantEqual(t, u, identityapi.User{}, "GetUser's result with its error")
			}
		}},
		{name: "register_invalid_utf8",
			run: func(t T, api identityapi.API) {
				in, _, _ := newAccount()
				in.Name = "Ada \xff"
				reg, err := api.Register(t.Context(), in)
				wantInvalidText(t, err, identityapi.ErrInvalidUser, "Register with a name of invalid UTF-8")
				if err == nil {
					u, _ := api.GetUser(t.Context(), reg.ID)
					t.Errorf("the account was created with name %q", u.Name)
				}
			}},
	}
}
