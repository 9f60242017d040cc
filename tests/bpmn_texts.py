"""BPMN documents several test modules write into their temporary folders."""

from __future__ import annotations

COLLABORATION = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
<collaboration id="col">
  <participant id="P1" name="Customer" processRef="pc"/>
  <participant id="P2" name="Shop" processRef="ps"/>
</collaboration>
<process id="pc" name="Customer">
  <startEvent id="cs"/><task id="ct" name="Ask"/><task id="cw" name="Wait"/>
  <task id="cx" name="Pay"/><task id="cy" name="Rate"/><endEvent id="ce"/>
  <sequenceFlow id="c1" sourceRef="cs" targetRef="ct"/>
  <sequenceFlow id="c2" sourceRef="ct" targetRef="cw"/>
  <sequenceFlow id="c3" sourceRef="cw" targetRef="cx"/>
  <sequenceFlow id="c4" sourceRef="cx" targetRef="cy"/>
  <sequenceFlow id="c5" sourceRef="cy" targetRef="ce"/>
</process>
<process id="ps" name="Shop">
  <startEvent id="ss"/><task id="sa" name="A"/><task id="sb" name="B"/><task id="sc" name="C"/>
  <endEvent id="se"/>
  <sequenceFlow id="s1" sourceRef="ss" targetRef="sa"/>
  <sequenceFlow id="s2" sourceRef="sa" targetRef="sb"/>
  <sequenceFlow id="s3" sourceRef="sb" targetRef="sc"/>
  <sequenceFlow id="s4" sourceRef="sc" targetRef="se"/>
</process>
</definitions>
"""
"""A collaboration of two pools: the Customer's (process `pc`: Ask, Wait, Pay, Rate, the
most tasks) and the Shop's (process `ps`: A, B, C)."""

SEQ_A_TASK_C = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="p"><startEvent id="s"/><task id="a" name="A"/><task id="t" name="TASK"/>
    <task id="c" name="C"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <sequenceFlow id="f2" sourceRef="a" targetRef="t"/>
    <sequenceFlow id="f3" sourceRef="t" targetRef="c"/>
    <sequenceFlow id="f4" sourceRef="c" targetRef="e"/>
  </process>
</definitions>
"""
"""One process: start, A, TASK (a name to put in its place), C, end."""
