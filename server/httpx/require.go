package httpx

import (
	"reflect"
	"strings"

	"gatehouse/server/problem"
)

// RequireAll reports, as field errors, every nil pointer field of the
// struct v (by its JSON name), except fields tagged `optional:"true"`.
// PUT bodies that must carry a whole object use it so that a missing field
// is never taken as false or zero.
func RequireAll(v any) problem.Fields {
	f := problem.Fields{}
	rv := reflect.Indirect(reflect.ValueOf(v))
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		if sf.Type.Kind() != reflect.Pointer || sf.Tag.Get("optional") == "true" {
			continue
		}
		if rv.Field(i).IsNil() {
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" {
				name = sf.Name
			}
			f.Add(name, "is required")
		}
	}
	return f
}
