module github.com/gonomaly/gonomaly

go 1.26
