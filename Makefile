# The two commands of the README. Both install missing system packages when run as root.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

.PHONY: dev test build format

dev:
	@scripts/bootstrap.sh dev
	swift build
	.build/debug/dcdn dev $(ARGS)

test:
	@scripts/test.sh

build:
	swift build

format:
	swift-format format -i -r Sources Tests Package.swift
