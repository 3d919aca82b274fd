package resident_test

import "github.com/postkasse/postkasse/httpui/internal/uitest"

// password is every test resident's password.
const password = uitest.Password
