module takedown.example/receiver

go 1.19
