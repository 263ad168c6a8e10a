module mooring.dev/bench/connect-gen

go 1.22
