package store

// Exported for the external test package store_test (api_bench_test.go),
// which cannot be part of package store because it imports httpui.
var (
	BenchBaseline       = benchBaseline
	BenchDeliveryCases  = benchDeliveryCases
	BenchRecordOverhead = benchRecordOverhead
	TestNID             = testNID
	CheapKDF            = cheapKDF
)
