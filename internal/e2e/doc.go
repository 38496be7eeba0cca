// Package e2e tests the shop from outside, as a client and an operator would:
// it builds cmd/app, starts it as a real process against a fresh Postgres
// database (and a RabbitMQ virtual host for the AMQP runs), and talks to it
// over HTTP and signals only.
package e2e
