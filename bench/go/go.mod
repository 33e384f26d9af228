module gustbench

go 1.19
