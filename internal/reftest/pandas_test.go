package reftest

import "testing"

func TestPandasParse(t *testing.T) {
	// Values printed by pandas 1.5.3: pd.read_csv(io.StringIO("a\n" + s))["a"][0].
	for s, want := range map[string]float64{
		"-0.20364048566636067": -0.2036404856663606,
		"-0.49329396944014214": -0.4932939694401421,
		"0.004912314661768384": 0.0049123146617683,
		"12":                   12,
		"1.5e-3":               0.0015,
	} {
		if got, ok := PandasParse(s); !ok || got != want {
			t.Errorf("PandasParse(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
}
