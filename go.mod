module github.com/allocviz/allocviz

go 1.26.0

require (
	github.com/charmbracelet/x/exp/golden v0.1.0
	go.starlark.net v0.0.0-20260908191801-89a6a09411d5
	golang.org/x/sys v0.49.0
)

require github.com/aymanbagabas/go-udiff v0.4.1 // indirect
